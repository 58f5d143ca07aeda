// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package nativemsg

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// TakeStdout duplicates file descriptor 1 for the frames, points descriptor
// 1 at standard error (so stray output from Go or C code goes to the log
// stream), sets os.Stdout to os.Stderr, and returns the private copy. Call it
// first in main, before anything can print or a PKCS#11 module is loaded.
func TakeStdout() (*os.File, error) {
	fd, err := unix.FcntlInt(1, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("nativemsg: duplicate stdout: %w", err)
	}
	if err := unix.Dup2(2, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nativemsg: point stdout at stderr: %w", err)
	}
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(fd), "native-messaging-out"), nil
}
