// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command oia-host is Open Identity Agent's native-messaging host. The
// browser starts it when the extension connects; it speaks length-prefixed
// JSON on standard input and output (docs/protocol.md §3), logs to a
// per-user file, and exits when the browser closes standard input.
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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/agent"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/logging"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
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

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	w := nativemsg.NewWriter(stdout, 64)
	a, err := agent.Assemble(cfg, log, func(ev protocol.Event) {
		if err := w.Send(ev); err != nil {
			log.WithError(err).Warn("cannot send an event")
		}
	})
	if err != nil {
		log.WithError(err).Error("cannot start")
		fmt.Fprintln(stderr, "oia-host:", err)
		return exitError
	}
	m := a.Machine
	hello := m.HelloBody() // before Run: afterwards only the machine's goroutine may read it
	// Hello is the first frame (protocol.md §3.2): it is queued before the
	// machine and the watcher, whose events share the writer, start.
	if err := w.Send(protocol.Hello{HelloBody: hello}); err != nil {
		log.WithError(err).Error("cannot send hello")
		return exitError
	}
	machineDone := make(chan struct{})
	go func() { m.Run(ctx); close(machineDone) }()
	go a.Watch(ctx)

	ready := a.Ready(ctx)
	served := make(chan error, 1)
	go func() { served <- server.Serve(stdin, w, ready, m, log) }()
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	cancel()
	select {
	case <-machineDone:
	case <-time.After(time.Second):
		log.Warn("the login machine did not stop in time")
	}
	_ = w.Close()
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		log.WithError(err).Error("input failed")
		return exitError
	}
	log.Info("stop: the browser closed the port")
	return exitOK
}

const usage = `usage: oia-host chrome-extension://<id>/ [--parent-window=<n>]
       oia-host <manifest path> <add-on id>
       oia-host --version | --print-config
The browser starts oia-host for the Open Identity Agent extension; run 'oia doctor' to check the set-up.
`

// parseCaller finds the calling extension's id in the arguments the browser
// passes (platform.md §5.2): Chrome and Edge pass chrome-extension://<id>/
// (and on Windows --parent-window=<n>, anywhere); Firefox passes the
// manifest path and the add-on id.
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
