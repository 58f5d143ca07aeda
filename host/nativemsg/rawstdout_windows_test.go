// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package nativemsg

import "golang.org/x/sys/windows"

// rawWriteStdout writes p below Go's os.Stdout: WriteFile to the handle
// that GetStdHandle(STD_OUTPUT_HANDLE) returns now, as C code would.
func rawWriteStdout(p []byte) {
	h, err := windows.GetStdHandle(windows.STD_OUTPUT_HANDLE)
	if err != nil {
		return
	}
	var n uint32
	_ = windows.WriteFile(h, p, &n, nil)
}
