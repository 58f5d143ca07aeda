// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !linux && !darwin && !windows

package logging

// defaultPath follows XDG on the BSDs and other Unix systems too.
func defaultPath() (string, error) { return xdgStatePath() }
