// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !windows

package nativemsg

import "syscall"

// rawWriteStdout writes p below Go's os.Stdout: write(2) to descriptor 1.
func rawWriteStdout(p []byte) { _, _ = syscall.Write(1, p) }
