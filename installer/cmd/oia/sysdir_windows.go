// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package main

import "golang.org/x/sys/windows"

// reparsePoint reports FILE_ATTRIBUTE_REPARSE_POINT on path: a junction or
// another reparse point that os.Lstat may report as a plain folder.
func reparsePoint(path string) (bool, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return false, err
	}
	attrs, err := windows.GetFileAttributes(name)
	if err != nil {
		return false, err
	}
	return attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0, nil
}
