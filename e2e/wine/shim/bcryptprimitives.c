// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * A test-only bcryptprimitives.dll for Wine 8.0, which lacks it: Go's
 * Windows runtime loads it from system32 at start for ProcessPrng. This
 * one answers from RtlGenRandom (SystemFunction036). It belongs to the
 * e2e/wine test rig only and is never shipped.
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
