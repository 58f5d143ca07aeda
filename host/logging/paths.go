// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the log file's name in the per-user log folder.
const FileName = "host.log"

// DefaultPath returns the per-user log file:
//
//   - Linux and other Unix: $XDG_STATE_HOME/oia/host.log, by default
//     ~/.local/state/oia/host.log;
//   - macOS: ~/Library/Logs/OIA/host.log, where Console.app looks;
//   - Windows: %LOCALAPPDATA%\OIA\host.log.
//
// It fails only when the home (or LOCALAPPDATA) folder is unknown.
func DefaultPath() (string, error) { return defaultPath() }

// xdgStatePath applies the XDG Base Directory rules: $XDG_STATE_HOME when
// it is absolute (the spec says to ignore a relative one), else
// ~/.local/state. https://specifications.freedesktop.org/basedir-spec/latest/
func xdgStatePath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the home folder for the log: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "oia", FileName), nil
}
