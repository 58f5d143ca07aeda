// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package detach

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// start detaches the process from the console and the caller's process
// group and asks for it to leave the browser's Job object. A job that
// forbids breakaway refuses the whole CreateProcess (ERROR_ACCESS_DENIED):
// then the process is started inside the job, and lives as long as the
// browser does (docs/architecture.md says what that costs).
func start(cmd *exec.Cmd) error {
	base := uint32(windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: base | windows.CREATE_BREAKAWAY_FROM_JOB, HideWindow: true}
	err := cmd.Start()
	if err == nil {
		return nil
	}
	retry := exec.Command(cmd.Path, cmd.Args[1:]...)
	retry.Env, retry.Dir = cmd.Env, cmd.Dir
	retry.Stdin, retry.Stdout, retry.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	retry.SysProcAttr = &syscall.SysProcAttr{CreationFlags: base, HideWindow: true}
	*cmd = *retry
	return cmd.Start()
}
