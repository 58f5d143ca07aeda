// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !windows && !unix

package logging

import "os"

// openAppend opens path for appending, creating it with mode 0600. With
// O_APPEND each write lands at the end of the file even when another
// process appends too.
func openAppend(path string) (logFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
}
