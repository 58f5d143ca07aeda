// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix && !windows

package config

// checkPath cannot tell who may write a file on this OS, so it trusts none.
func checkPath(string, bool, checkOptions) (string, error) {
	return "cannot be checked on this operating system", nil
}
