// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix && !windows

package main

import "errors"

// secureConfigDir cannot set permissions on this OS.
func secureConfigDir(string) error {
	return errors.New("cannot make the configuration folder administrators-only on this operating system")
}
