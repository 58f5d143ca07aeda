// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package nativemsg

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// TakeStdout duplicates the standard output handle for the frames, makes
// standard error the process's standard output handle (so stray output from
// Go, or from a C PKCS#11 module that asks for the handle after this call,
// goes to the log stream), sets os.Stdout to os.Stderr, and returns the
// private copy. Call it first in main.
func TakeStdout() (*os.File, error) {
	proc := windows.CurrentProcess()
	out, err := windows.GetStdHandle(windows.STD_OUTPUT_HANDLE)
	if err != nil {
		return nil, fmt.Errorf("nativemsg: get stdout: %w", err)
	}
	var dup windows.Handle
	if err := windows.DuplicateHandle(proc, out, proc, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
		return nil, fmt.Errorf("nativemsg: duplicate stdout: %w", err)
	}
	errh, err := windows.GetStdHandle(windows.STD_ERROR_HANDLE)
	if err == nil {
		_ = windows.SetStdHandle(windows.STD_OUTPUT_HANDLE, errh)
	}
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(dup), "native-messaging-out"), nil
}
