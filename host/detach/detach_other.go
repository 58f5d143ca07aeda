// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix && !windows

package detach

import "os/exec"

// start starts the process plainly where no detaching is known.
func start(cmd *exec.Cmd) error { return cmd.Start() }
