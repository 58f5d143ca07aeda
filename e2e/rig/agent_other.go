// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix

package rig

import (
	"os"
	"time"
)

// stopProcess ends pid at once and waits for it (no SIGTERM here).
func stopProcess(pid int, _ bool, _ time.Duration) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Kill(); err != nil {
		return nil
	}
	_, _ = p.Wait()
	return nil
}
