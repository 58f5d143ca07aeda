// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build linux

package logging

func defaultPath() (string, error) { return xdgStatePath() }
