// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package logging

import (
	"os"

	"golang.org/x/sys/windows"
)

// openAppend opens path for appending, creating it if needed. Unlike
// os.OpenFile it shares the file for deletion, so that another host process
// (Chrome and Edge each start one) can rename it while this one has it
// open, which rotation needs. FILE_APPEND_DATA without FILE_WRITE_DATA makes
// every write an append, as O_APPEND does; see
// https://learn.microsoft.com/windows/win32/fileio/file-access-rights-constants
func openAppend(path string) (logFile, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(name,
		windows.FILE_APPEND_DATA|windows.FILE_READ_ATTRIBUTES|windows.FILE_WRITE_ATTRIBUTES|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
