// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command inproc is the bench's reference for the relay: oia-host as it was
// before the per-desktop agent, serving the login machine in its own
// process on the browser's stdio (host/agent.Assemble). `make bench` times
// it beside the relay and agent (docs/performance.md); it is not shipped.
//
//	inproc chrome-extension://<id>/ | <manifest> <add-on id>
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openidentityagent/oia/host/agent"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/logging"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
)

func main() {
	out, err := nativemsg.TakeStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "inproc:", err)
		os.Exit(1)
	}
	if err := run(os.Stdin, out); err != nil {
		fmt.Fprintln(os.Stderr, "inproc:", err)
		os.Exit(1)
	}
}

// run serves the machine on in and out until in ends or a signal comes.
func run(in io.Reader, out io.Writer) error {
	cfg, err := config.Load(config.DefaultPaths())
	if err != nil {
		return err
	}
	log, closeLog, err := logging.New(logging.Options{Path: cfg.LogFile, Level: cfg.LogLevel, Component: "inproc"})
	if err != nil {
		return err
	}
	defer closeLog.Close()
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	w := nativemsg.NewWriter(out, 64)
	defer w.Close()
	a, err := agent.Assemble(cfg, log, func(ev protocol.Event) { _ = w.Send(ev) })
	if err != nil {
		return err
	}
	m := a.Machine
	if err := w.Send(protocol.Hello{HelloBody: m.HelloBody()}); err != nil {
		return err
	}
	machineDone := make(chan struct{})
	go func() { m.Run(ctx); close(machineDone) }()
	go a.Watch(ctx)
	served := make(chan error, 1)
	go func() { served <- server.Serve(in, w, a.Ready(ctx), m, log) }()
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	cancel()
	select {
	case <-machineDone:
	case <-time.After(time.Second):
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
