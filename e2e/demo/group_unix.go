// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package main

import (
	"os/exec"
	"syscall"
	"time"
)

// ownGroup starts cmd in a process group of its own, so that the browser's
// helpers and the oia-host it starts can be stopped together.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopGroup sends SIGTERM to cmd's process group, waits up to grace for
// cmd to exit (on exited, when not nil), then kills the group.
func stopGroup(cmd *exec.Cmd, exited <-chan error, grace time.Duration) {
	pgid := -cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	if exited != nil {
		select {
		case <-exited:
		case <-time.After(grace):
		}
	}
	// Whatever is left of the group (a helper, oia-host) goes now.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	if exited != nil {
		select {
		case <-exited:
		default:
		}
	}
}
