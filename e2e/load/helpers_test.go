// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"context"
	e2erig "github.com/openidentityagent/oia/e2e/rig"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/protocol"
)

// wait bounds every single wait of a test; generous, for busy CI machines.
const wait = 20 * time.Second

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func hostBin(t *testing.T) string {
	t.Helper()
	p, err := e2erig.Binary("oia-host")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newRig(t *testing.T) *Rig {
	t.Helper()
	r, err := NewRig(RigOptions{Dir: t.TempDir(), ModulePath: vcard.ModulePath(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// startHost starts oia-host with cfg and checks, when the test ends, that
// it never wrote an unframed byte and that it exits when its input closes.
func startHost(t *testing.T, cfg map[string]any, env ...string) *Host {
	t.Helper()
	h, err := Start(Options{Binary: hostBin(t), Dir: t.TempDir(), Config: cfg, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(5 * time.Second); err != nil && !h.killed {
			t.Errorf("host exit: %v; stderr: %s", err, h.Stderr())
		}
		if err := h.ProtocolError(); err != nil {
			t.Errorf("the host broke the framing: %v", err)
		}
	})
	if _, err := h.Next(ctxFor(t), "hello", isHello); err != nil {
		t.Fatal(err)
	}
	return h
}

// loggedIn starts a host on the rig and logs in.
func loggedIn(t *testing.T, rig *Rig) (*Host, protocol.Frame) {
	t.Helper()
	h := startHost(t, rig.Config(), rig.Env()...)
	ctx := ctxFor(t)
	if err := WaitCard(ctx, h); err != nil {
		t.Fatal(err)
	}
	r, err := Login(ctx, h, RigOrigin, rig.PIN)
	if err != nil || !r.OK || r.Ticket == "" {
		t.Fatalf("login: %+v %v", r.Error, err)
	}
	return h, r
}

func code(f protocol.Frame) protocol.Code {
	if f.Error == nil {
		return ""
	}
	return f.Error.Code
}

// proc reads the host's /proc figures. The card watcher opens the card's
// state file for a moment at each poll, so one reading can catch a
// passing descriptor or thread: the counts are the least of a few
// readings, a few milliseconds apart.
func proc(t *testing.T, h *Host) Proc {
	t.Helper()
	var best Proc
	for i := range 5 {
		p, err := ReadProc(h.Pid())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			best = p
		}
		best.FDs, best.Threads, best.RSSKiB = min(best.FDs, p.FDs), min(best.Threads, p.Threads), p.RSSKiB
		time.Sleep(7 * time.Millisecond) // sampling, not waiting for an event
	}
	return best
}

func isHello(f protocol.Frame) bool { return f.Type == "hello" }
