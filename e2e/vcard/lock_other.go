// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix

package vcard

import (
	"fmt"
	"runtime"
)

// lockDir is unsupported where there is no flock(2): the module is built
// for Linux and macOS only.
func lockDir(string, bool) (func(), error) {
	return nil, fmt.Errorf("the virtual card is not supported on %s; use Linux or macOS", runtime.GOOS)
}
