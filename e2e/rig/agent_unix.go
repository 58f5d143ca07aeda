// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package rig

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// stopProcess signals pid (SIGKILL when kill, else SIGTERM and SIGKILL
// after grace) and waits until it has exited. The agent is not our child,
// so it is polled: a zombie counts as gone.
func stopProcess(pid int, kill bool, grace time.Duration) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	if err := syscall.Kill(pid, sig); err != nil {
		if err == syscall.ESRCH {
			return nil
		}
		return fmt.Errorf("rig: signal agent %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for alive(pid) {
		if time.Now().After(deadline) {
			if sig == syscall.SIGKILL {
				return fmt.Errorf("rig: agent %d still runs %v after SIGKILL", pid, grace)
			}
			sig = syscall.SIGKILL
			_ = syscall.Kill(pid, sig)
			deadline = time.Now().Add(grace)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc (macOS): the signal said it exists
	}
	// pid (comm) S ...: the state follows the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
