// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/openidentityagent/oia/host/endpoint"
)

// TestMain lets the scripts run this test binary as the oia command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"oia": func() { os.Exit(run()) },
	})
}

// TestScripts runs testdata/script/*.txtar. Each script gets a fake home
// ($HOME, $WORK/home) and a fake root ($ROOT, $WORK/root) with a fake
// oia-host at $WORK/bin/oia-host; scripts create fake browsers by touching
// their executables under $ROOT.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			home := filepath.Join(e.WorkDir, "home")
			root := filepath.Join(e.WorkDir, "root")
			bin := filepath.Join(e.WorkDir, "bin")
			for _, d := range []string{home, root, bin} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			if err := os.WriteFile(filepath.Join(bin, "oia-host"), []byte("#!/bin/sh\necho 'oia-host 0.1.0'\n"), 0o755); err != nil {
				return err
			}
			e.Setenv("HOME", home)
			e.Setenv("ROOT", root)
			e.Setenv("HOST", filepath.Join(bin, "oia-host"))
			e.Setenv("XDG_CONFIG_HOME", "")
			// Keep the machine's own configuration out of the tests.
			e.Setenv("OIA_SYSTEM_CONFIG", filepath.Join(e.WorkDir, "no-system-config.json"))
			e.Setenv("OIA_CONFIG", filepath.Join(e.WorkDir, "no-user-config.json"))
			// And the developer's agent: a private endpoint where none runs
			// (short: a socket's path is bounded).
			agentDir, err := os.MkdirTemp("", "oia-s")
			if err != nil {
				return err
			}
			e.Defer(func() { _ = os.RemoveAll(agentDir) })
			e.Setenv(endpoint.EnvAddress, filepath.Join(agentDir, "agent.sock"))
			return nil
		},
	})
}
