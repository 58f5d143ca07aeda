// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import _ "embed"

// The C sources of the Windows programs the rig builds with mingw-w64
// (shim/): the bcryptprimitives.dll that Wine 8.0 lacks, and sd.exe, which
// reads and sets security descriptors. Tests only; never shipped.
var (
	//go:embed shim/bcryptprimitives.c
	shimBcrypt []byte
	//go:embed shim/sd.c
	shimSD []byte
)
