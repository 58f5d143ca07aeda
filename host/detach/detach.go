// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package detach starts a process that outlives the one that started it:
// the agent, started on demand by a browser's relay, must keep running when
// the browser closes and takes its native-messaging hosts with it.
//
// Browsers end their native hosts by more than closing the pipes: on Unix
// they may signal the host's process group, and on Windows they put it in
// a Job object that kills every process in it when the browser exits
// (MDN, "Native messaging": "Chrome starts each native messaging host in a
// separate process … on Windows, the process is started in a job object").
// [Start] leaves both: a new session (setsid) on Unix, and on Windows a
// detached process that breaks away from the job where the job allows it.
package detach

import (
	"fmt"
	"os"
	"os/exec"
)

// Start runs exe with args and env in the background, detached from this
// process's session, job and standard streams (they are the null device:
// a relay's stdout is the browser's frame stream, which the agent must never
// write to). It returns once the process has started; the process is reaped
// in the background so that it never lingers as a zombie of a
// long-running caller.
func Start(exe string, args, env []string) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	defer null.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.Dir = os.TempDir()
	if err := start(cmd); err != nil {
		return fmt.Errorf("detach: cannot start %s: %w", exe, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
