// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/agent"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
)

// serveInProcess runs the host as oia-host's main does (agent.Assemble,
// the machine, the card watcher, server.Serve) over in-memory pipes, with
// the card module loaded in this process. The module reads its card
// directory once, so only one test may use it: this one's caller.
func serveInProcess(t *testing.T, rig *Rig) *Host {
	t.Helper()
	t.Setenv(vcard.EnvDir, rig.Card.Dir())
	b, _ := json.Marshal(rig.Config())
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Paths{User: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	w := nativemsg.NewWriter(outW, 64)
	a, err := agent.Assemble(cfg, log, func(ev protocol.Event) { _ = w.Send(ev) })
	if err != nil {
		t.Fatal(err)
	}
	m := a.Machine
	_ = w.Send(protocol.Hello{HelloBody: m.HelloBody()})
	ctx, cancel := context.WithCancel(context.Background())
	machineDone := make(chan struct{})
	go func() { m.Run(ctx); close(machineDone) }()
	go a.Watch(ctx)
	served := make(chan error, 1)
	go func() { served <- server.Serve(inR, w, a.Primed(), m, log) }()
	h := Attach(inW, outR, func() error {
		err := <-served
		cancel()
		<-machineDone
		_ = w.Close()
		_ = outW.Close()
		return err
	})
	t.Cleanup(func() {
		if err := h.Close(5 * time.Second); err != nil {
			t.Errorf("in-process host: %v", err)
		}
	})
	return h
}

// TestInProcess_TicketFloodGoroutines is the inside view of the flood: the
// same 10,000 getTicketNoAuth requests through host/server and host/login
// in this process leave no goroutine behind.
func TestInProcess_TicketFloodGoroutines(t *testing.T) {
	rig := newRig(t)
	h := serveInProcess(t, rig)
	ctx := ctxFor(t)
	if _, err := h.Next(ctx, "hello", isHello); err != nil {
		t.Fatal(err)
	}
	if err := WaitCard(ctx, h); err != nil {
		t.Fatal(err)
	}
	r, err := Login(ctx, h, RigOrigin, rig.PIN)
	if err != nil || !r.OK {
		t.Fatalf("login: %+v %v", r.Error, err)
	}
	h.Drop()
	flood(t, h, 500, r.Ticket)
	before := runtime.NumGoroutine()
	flood(t, h, floodCount(), r.Ticket)
	after := runtime.NumGoroutine()
	t.Logf("goroutines before %d, after %d", before, after)
	// The broker client's idle connection may close in between (one
	// goroutine fewer); nothing may be added.
	if after > before {
		t.Errorf("goroutines grew from %d to %d", before, after)
	}
}
