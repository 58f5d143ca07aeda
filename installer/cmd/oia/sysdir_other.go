// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !windows

package main

import (
	"errors"
	"io/fs"
	"os"
)

// stat reads path with os.Lstat: a symbolic link or an irregular file
// (a device, a socket) is reported as a link, never followed.
func (osFS) stat(path string) (sysPath, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sysPath{}, nil
	}
	if err != nil {
		return sysPath{}, err
	}
	m := fi.Mode()
	return sysPath{exists: true, link: m&(fs.ModeSymlink|fs.ModeIrregular) != 0, dir: m.IsDir(), regular: m.IsRegular()}, nil
}
