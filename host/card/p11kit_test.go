// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/softhsm"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// TestP11Kit_RemovalAndReinsertion drives a real card-removal path: the
// token is reached through p11-kit-client; stopping the server (and its
// per-connection child) makes every call fail with CKR_DEVICE_ERROR, which
// must read as removal mid-session and mid-signature; restarting it must be
// seen as re-insertion after the watcher re-initialises the module.
func TestP11Kit_RemovalAndReinsertion(t *testing.T) {
	if fx.skip != "" {
		t.Skip(fx.skip)
	}
	if fx.server == nil {
		t.Skip("p11-kit server is not available (scripts/deps.sh)")
	}
	m, err := Open(softhsm.ClientModulePath())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer fx.server.Insert() // leave it running for other tests, whatever happens

	w := NewWatcher([]*Module{m}, time.Hour)
	ticks := make(chan time.Time)
	w.NewTicker = func(time.Duration) Ticker { return fakeTicker(ticks) }
	// p11-kit-client is polled in any case; no PC/SC here, because
	// libpcsclite keeps the first socket it was given (TestOpenSC's).
	w.OpenReaders = noReaders
	events := make(chan Event)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, events); close(done) }()
	defer func() { cancel(); <-done }()

	// The first poll reports the card present.
	ev := <-events
	if ev.Kind != Inserted || ev.Token.Label != fx.remote.Label || ev.Token.Serial != fx.remote.Serial {
		t.Fatalf("first event %+v, want %s inserted", ev, fx.remote.Label)
	}
	s, err := OpenSession(ev.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Login(pin); err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	sg, err := s.Signer()
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.Sign([]byte("challenge before removal"), id.Cert, sg, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	verifyOpenSSL(t, der, []byte("challenge before removal"))

	// Pull the card.
	fx.server.Remove()
	_, err = cms.Sign([]byte("challenge after removal"), id.Cert, sg, crypto.SHA1)
	wantCode(t, err, protocol.CodeCardRemoved) // mid-signature: the signer's error survives cms
	_, err = s.PINStatus()
	wantCode(t, err, protocol.CodeCardRemoved)
	err = s.Login(pin)
	wantCode(t, err, protocol.CodeCardRemoved)

	ticks <- time.Now()
	if ev := <-events; ev.Kind != Removed || ev.Token.Serial != fx.remote.Serial {
		t.Fatalf("after removal %+v, want removed", ev)
	}

	// Put it back: seen once the watcher re-initialises the module.
	if err := fx.server.Insert(); err != nil {
		t.Fatal(err)
	}
	ticks <- time.Now()
	ev = <-events
	if ev.Kind != Inserted || ev.Token.Serial != fx.remote.Serial {
		t.Fatalf("after re-insertion %+v, want inserted", ev)
	}
	// The old session belongs to the previous module generation.
	_, err = s.PINStatus()
	wantCode(t, err, protocol.CodeCardRemoved)

	// A new session works end to end.
	s2, err := OpenSession(ev.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Login(pin); err != nil {
		t.Fatal(err)
	}
	sg2, err := s2.Signer()
	if err != nil {
		t.Fatal(err)
	}
	der, err = cms.Sign([]byte("challenge after re-insertion"), id.Cert, sg2, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifyOpenSSL(t, der, []byte("challenge after re-insertion"))
}

// fakeTicker is a Ticker over a channel the test sends on.
type fakeTicker chan time.Time

func (f fakeTicker) Chan() <-chan time.Time { return f }
func (f fakeTicker) Stop()                  {}
