// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix && !windows

package nativemsg

import "os"

// TakeStdout returns the process's standard output for the frames and sets
// os.Stdout to os.Stderr, so that Go code printing through os.Stdout cannot
// corrupt the frames. On this platform output written straight to file
// descriptor 1 is not redirected.
func TakeStdout() (*os.File, error) {
	out := os.Stdout
	os.Stdout = os.Stderr
	return out, nil
}
