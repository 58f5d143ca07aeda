// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package rig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openidentityagent/oia/host/endpoint"
)

// Agent is a private agent endpoint for one test: the relays and oia
// commands given [Agent.Env] start and share their own agent there, not the
// developer's (docs/protocol.md §6). The socket's folder is short and under
// the system's temporary folder, since a Unix socket's path is limited to
// 108 bytes and t.TempDir's are often longer.
type Agent struct {
	dir  string
	addr string
}

// NewAgent makes a private, empty agent endpoint.
func NewAgent() (*Agent, error) {
	dir, err := os.MkdirTemp("", "oia-a")
	if err != nil {
		return nil, fmt.Errorf("rig: agent folder: %w", err)
	}
	return &Agent{dir: dir, addr: filepath.Join(dir, "agent.sock")}, nil
}

// Env is the environment entry that points a relay or oia at this endpoint.
func (a *Agent) Env() string { return endpoint.EnvAddress + "=" + a.addr }

// Addr is the endpoint's address.
func (a *Agent) Addr() string { return a.addr }

// PID returns the process id of the agent listening on the endpoint, or
// endpoint.ErrNoAgent (wrapped) when none does.
func (a *Agent) PID() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, peer, err := endpoint.Dial(ctx, a.addr)
	if err != nil {
		return 0, err
	}
	_ = c.Close()
	return peer.PID, nil
}

// Kill ends the running agent with SIGKILL, as a crash would, and waits
// until it has gone; it leaves its socket behind, stale. It does nothing
// when no agent runs.
func (a *Agent) Kill() error {
	pid, err := a.PID()
	if errors.Is(err, endpoint.ErrNoAgent) {
		return nil
	}
	if err != nil {
		return err
	}
	return stopProcess(pid, true, 3*time.Second)
}

// Close stops the running agent (SIGTERM, then SIGKILL after 3 s), waits
// until it has gone, so that nothing writes into the test's folders after
// the test, and removes the endpoint's folder.
func (a *Agent) Close() error {
	var err error
	if pid, perr := a.PID(); perr == nil {
		err = stopProcess(pid, false, 3*time.Second)
	}
	if rerr := os.RemoveAll(a.dir); err == nil {
		err = rerr
	}
	return err
}
