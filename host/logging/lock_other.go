// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix && !windows

package logging

import "os"

// lockFile does nothing where there are no file locks (js, wasip1, plan9):
// there, two processes rotating at once may drop a backup.
func lockFile(*os.File) error { return nil }
