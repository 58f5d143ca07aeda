// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package main

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// stat reads path with os.Lstat and its attributes: a symbolic link, a
// junction (which Go may report as ModeIrregular) or any path with
// FILE_ATTRIBUTE_REPARSE_POINT is reported as a link, never followed.
func (osFS) stat(path string) (sysPath, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sysPath{}, nil
	}
	if err != nil {
		return sysPath{}, err
	}
	m := fi.Mode()
	p := sysPath{exists: true, link: m&(fs.ModeSymlink|fs.ModeIrregular) != 0, dir: m.IsDir(), regular: m.IsRegular()}
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return sysPath{}, err
	}
	attrs, err := windows.GetFileAttributes(name)
	if err != nil {
		return sysPath{}, err
	}
	if attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		p.link = true
	}
	return p, nil
}
