// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !linux || !cgo

package pcsc

import (
	"fmt"
	"runtime"
	"time"
)

// Context is a PC/SC resource manager context; this build has none.
type Context struct{}

// Establish fails: this build watches no PC/SC readers (Windows' and
// macOS's PC/SC are not wired up yet, and without cgo nothing is), so the
// caller polls its PKCS#11 modules.
func Establish() (*Context, error) {
	return nil, fmt.Errorf("%w: not built for %s (or without cgo): the card watcher polls instead", ErrUnavailable, runtime.GOOS)
}

// Readers lists nothing.
func (c *Context) Readers() ([]string, error) { return nil, ErrUnavailable }

// GetStatusChange fails with ErrUnavailable.
func (c *Context) GetStatusChange(rs []ReaderState, timeout time.Duration) error {
	return ErrUnavailable
}

// Cancel does nothing.
func (c *Context) Cancel() error { return nil }

// Release does nothing.
func (c *Context) Release() error { return nil }
