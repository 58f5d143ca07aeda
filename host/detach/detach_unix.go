// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package detach

import (
	"os/exec"
	"syscall"
)

// start puts the process in a session of its own: no controlling
// terminal, and out of the process group a browser may signal.
func start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd.Start()
}
