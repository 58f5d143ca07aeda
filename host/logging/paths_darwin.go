// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build darwin

package logging

import (
	"fmt"
	"os"
	"path/filepath"
)

func defaultPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home folder for the log: %w", err)
	}
	return filepath.Join(home, "Library", "Logs", "OIA", FileName), nil
}
