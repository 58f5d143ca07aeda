// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// WaitDelay is how long a finished program's standard streams may stay
// open (held by a process it left behind) before [Prefix.Run] stops
// waiting for them.
const WaitDelay = 5 * time.Second

// Command returns the command that runs exe in the prefix with the 64-bit
// loader. exe is a path on this machine (any folder: Wine sees / as Z:), a
// Windows path, or a program of the prefix such as "reg" or "cmd.exe".
// The environment is the prefix's ([Prefix.Env]); add to cmd.Env, do not
// replace it. Standard streams left nil read from and write to /dev/null.
// A program that leaves processes behind holding its output would keep
// Wait waiting: WaitDelay is set so that it returns.
func (p *Prefix) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.t.wine64, append([]string{exe}, args...)...)
	cmd.Env = p.Env()
	cmd.WaitDelay = WaitDelay
	return cmd
}

// Command32 is [Prefix.Command] with the 32-bit loader, for x86 programs;
// it fails when [Available32] does.
func (p *Prefix) Command32(ctx context.Context, exe string, args ...string) (*exec.Cmd, error) {
	if err := Available32(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p.t.wine32, append([]string{exe}, args...)...)
	cmd.Env = p.Env()
	cmd.WaitDelay = WaitDelay
	return cmd, nil
}

// Env is the environment of the prefix's programs: this process's without
// OIA_ variables, plus WINEPREFIX, WINEDEBUG=-all and [Overrides].
func (p *Prefix) Env() []string { return p.baseEnv() }

// RunOptions are a program's arguments, extra environment, input and
// working folder.
type RunOptions struct {
	// Args are the program's arguments.
	Args []string
	// Env is added to the prefix's environment (KEY=value).
	Env []string
	// Stdin is the program's input; nil is empty input.
	Stdin io.Reader
	// Dir is the working folder on this machine; empty is this process's.
	Dir string
	// X86 runs the program with the 32-bit loader ([Prefix.Command32]).
	X86 bool
}

// Result is what a finished program wrote and its exit status.
type Result struct {
	Stdout, Stderr string
	// ExitCode is the program's exit status (-1 when it was killed).
	ExitCode int
}

// Run runs exe in the prefix (see [Prefix.Command]) until it exits and
// returns its output. A nonzero exit status is not an error: it is in
// Result.ExitCode. Errors are a program that could not start, or ctx
// ending first.
func (p *Prefix) Run(ctx context.Context, exe string, o RunOptions) (Result, error) {
	var cmd *exec.Cmd
	if o.X86 {
		var err error
		if cmd, err = p.Command32(ctx, exe, o.Args...); err != nil {
			return Result{ExitCode: -1}, err
		}
	} else {
		cmd = p.Command(ctx, exe, o.Args...)
	}
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdin, cmd.Dir = o.Stdin, o.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: cmd.ProcessState.ExitCode()}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return r, nil
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return r, nil // it exited; something it left behind held the output
	}
	if err != nil {
		return r, fmt.Errorf("wine: run %s: %w", exe, err)
	}
	return r, nil
}
