// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package vcard

import "syscall"

// processAlive says whether process pid exists; 0 (unknown) counts as alive.
func processAlive(pid int) bool {
	if pid <= 0 {
		return pid == 0
	}
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
