// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package agentclient

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/openidentityagent/oia/host/detach"
)

// AgentCommand returns the oia command installed beside the running
// executable: every package puts oia-host and oia in one folder, and
// `oia agent` is the agent. Looking beside oneself, never on PATH, means
// what a relay starts is what the administrator installed with it.
func AgentCommand() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find this program's folder: %w", err)
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	name := "oia"
	if runtime.GOOS == "windows" {
		name = "oia.exe"
	}
	p := filepath.Join(filepath.Dir(exe), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the agent's command %s is missing: reinstall open identity agent", p)
	}
	return p, nil
}

// Starter returns a start function for [Options.Start] that runs
// `<oia> agent` detached from the caller (host/detach), with the caller's
// environment.
func Starter(oia string) func() error {
	return func() error { return detach.Start(oia, []string{"agent"}, os.Environ()) }
}
