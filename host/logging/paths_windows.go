// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package logging

import (
	"fmt"
	"os"
	"path/filepath"
)

func defaultPath() (string, error) {
	dir, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return "", fmt.Errorf("cannot find the local application data folder for the log: %w", err)
	}
	return filepath.Join(dir, "OIA", FileName), nil
}
