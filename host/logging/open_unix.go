// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package logging

import (
	"fmt"
	"os"
	"syscall"
)

// openAppend opens path for appending, creating it with mode 0600. With
// O_APPEND each write lands at the end of the file even when another
// process appends too. It does not follow a symbolic link at path (one
// planted in a shared log folder would send the log, or the truncation of
// rotation, to another file), refuses anything but a regular file, and
// sets an existing file's mode back to 0600 where it may (a file another
// user owns stays as its owner made it).
func openAppend(path string) (logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file; point logFile at a file", path)
	}
	if fi.Mode().Perm() != 0o600 {
		_ = f.Chmod(0o600) // best effort: only the owner (or root) may
	}
	return f, nil
}
