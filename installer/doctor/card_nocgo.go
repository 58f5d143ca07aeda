// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !cgo

package doctor

// DefaultCardProber returns nil: without cgo there is no PKCS#11, and the
// card check says so.
func DefaultCardProber() CardProber { return nil }
