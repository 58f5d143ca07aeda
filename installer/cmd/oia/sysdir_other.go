// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !windows

package main

// reparsePoint: only Windows has reparse points beyond what os.Lstat
// reports as a symbolic link.
func reparsePoint(string) (bool, error) { return false, nil }
