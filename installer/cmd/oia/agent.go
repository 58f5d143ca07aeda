// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/agent"
	"github.com/openidentityagent/oia/host/agentclient"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/logging"
	"github.com/openidentityagent/oia/host/protocol"
)

const agentUsage = `usage: oia agent [run]      run the agent for this user's desktop session (autostart runs this)
       oia agent status    show the running agent: its version and clients
       oia agent stop      stop the running agent: its session ends, with a logout
`

// runAgent is `oia agent`: the per-desktop agent that owns the card and
// the session (docs/architecture.md), and its status and stop.
func runAgent(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	sub := "run"
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	asJSON := len(args) == 1 && args[0] == "--json"
	if len(args) > 0 && !(asJSON && sub == "status") {
		fmt.Fprint(stderr, agentUsage)
		return exitUsage
	}
	switch sub {
	case "run":
		return agentRun(ctx, stderr)
	case "status":
		return agentStatus(ctx, stdout, stderr, asJSON)
	case "stop":
		return agentStop(ctx, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, agentUsage)
		return exitOK
	}
	fmt.Fprint(stderr, agentUsage)
	return exitUsage
}

func agentRun(ctx context.Context, stderr io.Writer) int {
	cfg, err := config.Load(config.DefaultPaths())
	if err != nil {
		fmt.Fprintf(stderr, "oia agent: %v\nhint: run 'oia doctor'\n", err)
		return exitFailed
	}
	addr, err := endpoint.Address()
	if err != nil {
		fmt.Fprintf(stderr, "oia agent: %v\n", err)
		return exitFailed
	}
	log, closeLog, err := logging.New(logging.Options{Path: cfg.LogFile, Level: cfg.LogLevel, Component: "oia agent"})
	if err != nil {
		fmt.Fprintf(stderr, "oia agent: %v\n", err)
		return exitFailed
	}
	defer closeLog.Close()
	l, err := endpoint.Listen(addr, func(p endpoint.Peer, err error) {
		log.WithError(err).WithField("peer_pid", p.PID).Warn("a connection from another user was refused")
	})
	if errors.Is(err, endpoint.ErrRunning) {
		fmt.Fprintln(stderr, "oia agent: an agent is already running for this user; 'oia agent status' shows it")
		return exitOK
	}
	if err != nil {
		log.WithError(err).Error("cannot listen")
		fmt.Fprintf(stderr, "oia agent: %v\n", err)
		return exitFailed
	}
	log.WithFields(logrus.Fields{"version": oia.Version, "pid": os.Getpid(), "endpoint": addr}).Info("agent start")
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	a, err := agent.New(cfg, log)
	if err != nil {
		_ = l.Close()
		log.WithError(err).Error("cannot start")
		fmt.Fprintf(stderr, "oia agent: %v\n", err)
		return exitFailed
	}
	// The desktop session's end (SIGHUP from the terminal or the session
	// manager, SIGTERM from systemd or logout) ends the agent, and with it
	// the Spine session.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	exe, _ := os.Executable()
	why, err := a.Serve(ctx, l, agent.Options{Idle: cfg.AgentIdle(), Exe: exe})
	if err != nil {
		log.WithError(err).Error("the endpoint failed")
		fmt.Fprintf(stderr, "oia agent: %v\n", err)
		return exitFailed
	}
	log.WithField("reason", string(why)).Info("agent stop")
	return exitOK
}

// dialAgent connects to the running agent as the oia command, without
// starting one.
func dialAgent(ctx context.Context) (*agentclient.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return agentclient.Connect(ctx, agentclient.Options{})
}

// agentProblem explains a failure to reach the agent.
func agentProblem(err error) string {
	if errors.Is(err, endpoint.ErrNoAgent) {
		return "no agent is running for this user (a browser or 'oia login' starts one; autostart runs 'oia agent')"
	}
	return err.Error()
}

func agentStatus(ctx context.Context, stdout, stderr io.Writer, asJSON bool) int {
	c, err := dialAgent(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "oia agent status: %s\n", agentProblem(err))
		return exitFailed
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r := c.Request(rctx, protocol.Request{ID: "1", Type: protocol.ReqAgentStatus})
	if r.Err != nil {
		fmt.Fprintf(stderr, "oia agent status: %s (%s)\n", r.Err.Message, r.Err.Code)
		return exitFailed
	}
	st := r.Body.(protocol.AgentStatus)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return exitOK
	}
	fmt.Fprintf(stdout, "agent:    pid %d, version %s, protocol %s, since %s\n", st.PID, st.Version, st.Protocol, st.Since)
	fmt.Fprintf(stdout, "state:    %s\n", c.Hello.State)
	if st.UpgradePending {
		fmt.Fprintln(stdout, "upgrade:  a new version is installed; it takes over when this session ends")
	}
	writeClients(stdout, st.Clients)
	return exitOK
}

// writeClients lists the agent's clients as a table.
func writeClients(stdout io.Writer, clients []protocol.AgentClient) {
	fmt.Fprintf(stdout, "clients:  %d\n", len(clients))
	if len(clients) == 0 {
		return
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  KIND\tNAME\tPID\tPROGRAM")
	for _, cl := range clients {
		fmt.Fprintf(w, "  %s\t%s\t%d\t%s\n", cl.Kind, strings.TrimSpace(cl.Name), cl.PID, cl.Exe)
	}
	_ = w.Flush()
}

func agentStop(ctx context.Context, stdout, stderr io.Writer) int {
	c, err := dialAgent(ctx)
	if errors.Is(err, endpoint.ErrNoAgent) {
		fmt.Fprintln(stdout, "No agent is running.")
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "oia agent stop: %s\n", agentProblem(err))
		return exitFailed
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if r := c.Request(rctx, protocol.Request{ID: "1", Type: protocol.ReqAgentStop}); r.Err != nil {
		fmt.Fprintf(stderr, "oia agent stop: %s (%s)\n", r.Err.Message, r.Err.Code)
		return exitFailed
	}
	// The agent closes every connection as it goes.
	select {
	case <-c.Done():
	case <-rctx.Done():
		fmt.Fprintln(stderr, "oia agent stop: the agent did not stop within 5 s")
		return exitFailed
	}
	fmt.Fprintln(stdout, "The agent stopped.")
	return exitOK
}
