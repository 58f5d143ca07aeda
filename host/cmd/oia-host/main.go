// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command oia-host is Open Identity Agent's native-messaging host: the
// browser's relay to the per-desktop agent. The browser starts it when the
// extension connects; it speaks length-prefixed JSON on standard input and
// output (docs/protocol.md §3), connects to the agent's endpoint (starting
// `oia agent` from its own folder when none runs), names the calling
// extension, and passes frames both ways (docs/protocol.md §6). It holds
// no session: it logs to a per-user file and exits when the browser closes
// standard input or the agent goes away.
//
//	oia-host chrome-extension://<id>/ [--parent-window=<n>]   (Chrome, Edge)
//	oia-host <manifest path> <add-on id>                        (Firefox)
//	oia-host --version
//	oia-host --print-config
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/agentclient"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/logging"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/relay"
)

// Exit statuses.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitForbidden = 3
)

func main() {
	// Take stdout before anything can print: from here on only frames go
	// to the real standard output.
	out, err := nativemsg.TakeStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oia-host:", err)
		os.Exit(exitError)
	}
	os.Exit(run(os.Args[1:], os.Stdin, out, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 {
		switch args[0] {
		case "--version", "-version":
			fmt.Fprintf(stdout, "oia-host %s (protocol %s)\n", oia.Version, protocol.Version)
			return exitOK
		case "--print-config", "-print-config":
			cfg, err := config.Load(config.DefaultPaths())
			if err != nil {
				fmt.Fprintln(stderr, "oia-host:", err)
				return exitError
			}
			p := config.DefaultPaths()
			fmt.Fprintf(stdout, "system file: %s\nuser file:   %s\n\n%s", p.System, p.User, cfg.Describe())
			return exitOK
		case "--help", "-help", "-h":
			fmt.Fprint(stderr, usage)
			return exitOK
		}
	}
	caller, err := parseCaller(args)
	if err != nil {
		fmt.Fprintf(stderr, "oia-host: %v\n%s", err, usage)
		return exitUsage
	}
	cfg, err := config.Load(config.DefaultPaths())
	if err != nil {
		fmt.Fprintf(stderr, "oia-host: %v\nhint: run 'oia doctor' or 'oia-host --print-config'\n", err)
		return exitError
	}
	if !cfg.ExtensionAllowed(caller) {
		fmt.Fprintf(stderr, "oia-host: extension %q is not allowed to use this host: add it to allowedExtensions in %s\n", caller, config.DefaultPaths().System)
		return exitForbidden
	}
	log, closeLog, err := logging.New(logging.Options{Path: cfg.LogFile, Level: cfg.LogLevel, Component: "oia-host"})
	if err != nil {
		fmt.Fprintln(stderr, "oia-host:", err)
		return exitError
	}
	defer closeLog.Close()
	log.WithFields(logrus.Fields{"version": oia.Version, "caller": caller, "pid": os.Getpid()}).Info("start")
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	conn, hello, err := attachAgent(ctx, log, caller)
	if err != nil {
		log.WithError(err).Error("cannot reach the agent")
		_ = relay.Unavailable(stdout, fmt.Sprintf("oia-host cannot start, reach or attach to the agent (%v): run 'oia doctor'", err))
		return exitError
	}
	go func() { <-ctx.Done(); _ = conn.Close() }()
	// The agent's hello, read by the handshake, goes to the browser first.
	frame, err := nativemsg.Frame(hello)
	if err == nil {
		_, err = stdout.Write(frame)
	}
	if err != nil {
		log.WithError(err).Info("stop: the browser closed the port")
		_ = conn.Close()
		return exitOK
	}
	res := relay.Run(stdin, stdout, conn, log)
	switch {
	case ctx.Err() != nil:
		log.Info("stop: a signal (the browser disconnected the port)")
	case res == relay.AgentGone:
		log.Warn("stop: the agent went away")
		return exitError
	default:
		log.Info("stop: the browser closed the port")
	}
	return exitOK
}

// helloWait bounds the wait for the agent's answer to the attach, on one
// connection; attachAgent dials again after it.
const helloWait = 3 * time.Second

// attachAgent connects to this user's agent (dialAgent) and attaches for
// caller. It returns the connection and the agent's first frame, its
// hello. A connection the agent accepted but does not answer is dropped and
// the agent dialled again (relay.ErrNoAnswer), up to three times.
func attachAgent(ctx context.Context, log logrus.FieldLogger, caller string) (net.Conn, []byte, error) {
	for try := 1; ; try++ {
		conn, err := dialAgent(ctx, log)
		if err != nil {
			return nil, nil, err
		}
		hello, err := relay.Handshake(conn, caller, helloWait)
		if err == nil {
			return conn, hello, nil
		}
		_ = conn.Close()
		if !errors.Is(err, relay.ErrNoAnswer) || try == 3 {
			return nil, nil, err
		}
		log.WithField("try", try).Warn("the agent did not answer the attach: dialling again")
	}
}

// dialAgent connects to this user's agent, starting `oia agent` from the
// folder oia-host is in when none runs.
func dialAgent(ctx context.Context, log logrus.FieldLogger) (net.Conn, error) {
	addr, err := endpoint.Address()
	if err != nil {
		return nil, err
	}
	var start func() error
	if oiaCmd, err := agentclient.AgentCommand(); err == nil {
		start = agentclient.Starter(oiaCmd)
	} else {
		log.WithError(err).Warn("cannot start an agent; only a running one can be used")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	started := time.Now()
	conn, peer, err := endpoint.DialOrStart(ctx, addr, start)
	if err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{"agent_pid": peer.PID, "ms": time.Since(started).Milliseconds()}).Debug("connected to the agent")
	return conn, nil
}

const usage = `usage: oia-host chrome-extension://<id>/ [--parent-window=<n>]
       oia-host <manifest path> <add-on id>
       oia-host --version | --print-config
The browser starts oia-host for the Open Identity Agent extension; run 'oia doctor' to check the set-up.
`

// parseCaller finds the calling extension's id in the arguments the browser
// passes (docs/references.md, "Native messaging: caller arguments"): Chrome
// and Edge pass chrome-extension://<id>/ (and on Windows
// --parent-window=<n>, anywhere); Firefox passes the manifest path and the
// add-on id.
func parseCaller(args []string) (string, error) {
	var rest []string
	for _, a := range args {
		if id, ok := strings.CutPrefix(a, "chrome-extension://"); ok {
			id = strings.TrimSuffix(id, "/")
			if !config.IsChromeID(id) {
				return "", fmt.Errorf("malformed caller %q", a)
			}
			return id, nil
		}
		if strings.HasPrefix(a, "--parent-window=") {
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) == 2 && strings.HasSuffix(rest[0], ".json") {
		return rest[1], nil
	}
	return "", errors.New("no caller: oia-host is started by the browser, which names the calling extension")
}
