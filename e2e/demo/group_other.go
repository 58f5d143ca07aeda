// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix

package main

import (
	"os/exec"
	"time"
)

// ownGroup does nothing where there are no Unix process groups.
func ownGroup(*exec.Cmd) {}

// stopGroup kills the browser process, waits up to grace for it (on
// exited, when not nil); the host sees its stdin close and exits.
func stopGroup(cmd *exec.Cmd, exited <-chan error, grace time.Duration) {
	_ = cmd.Process.Kill()
	if exited != nil {
		select {
		case <-exited:
		case <-time.After(grace):
		}
	}
}
