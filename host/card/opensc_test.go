// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/pivcard/pivcardtest"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// startPIV starts the real card stack (a private pcscd, vpcd and the
// virtual PIV card, e2e/pivcard) for OpenSC in this process, with a card
// for uid made (not yet inserted). libpcsclite reads the socket name once
// per process, so one test of this package uses it.
func startPIV(t *testing.T, uid string) (*pivcard.Stack, *pivcard.Card) {
	t.Helper()
	if fx.skip != "" {
		t.Skip(fx.skip)
	}
	s := pivcardtest.Start(t)
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return s, newPIVCard(t, uid)
}

func newPIVCard(t *testing.T, uid string) *pivcard.Card {
	t.Helper()
	return pivcardtest.NewCard(t, fx.pki, uid, pin)
}

// pollUntil polls w until it reports an event, for up to 10 s (pcscd
// polls vpcd every 400 ms; OpenSC binds a new card with a dozen APDUs).
func pollUntil(t *testing.T, w *Watcher) []Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if evs := w.Poll(); len(evs) > 0 {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatal("no card event in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollWithin is pollUntil for up to d that fails, rather than waiting for
// ever, when a poll is stuck inside the module.
func pollWithin(t *testing.T, w *Watcher, d time.Duration) []Event {
	t.Helper()
	done := make(chan []Event, 1)
	go func() {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			if evs := w.Poll(); len(evs) > 0 {
				done <- evs
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		done <- nil
	}()
	select {
	case evs := <-done:
		if evs == nil {
			t.Fatalf("no card event in %v", d)
		}
		return evs
	case <-time.After(d + 5*time.Second):
		// The stuck call also holds the cleanup (sessions and the module
		// close through it) until go test's -timeout, which prints no test
		// output: say why now.
		msg := fmt.Sprintf("the watcher is stuck inside the module for %v", d+5*time.Second)
		fmt.Fprintln(os.Stderr, t.Name()+": "+msg)
		t.Fatal(msg)
		return nil
	}
}

// idleFor is how long TestOpenSC's watcher must leave a card alone: the
// minute of issue 14's check, or 5 s with -short.
func idleFor() time.Duration {
	if testing.Short() {
		return 5 * time.Second
	}
	return 60 * time.Second
}

// nextEvents returns the events w's Run sends within d.
func nextEvents(events <-chan Event, d time.Duration) []Event {
	var evs []Event
	deadline := time.After(d)
	for {
		select {
		case ev := <-events:
			evs = append(evs, ev)
			d = 300 * time.Millisecond // what comes with it
			deadline = time.After(d)
		case <-deadline:
			return evs
		}
	}
}

// TestOpenSC runs the card package through the chain a trust's Linux
// desktop has: OpenSC's opensc-pkcs11.so, pcscd, a reader driver and a
// card that answers APDUs (a PIV card, OpenSC's best-supported
// application). libpcsclite reads pcscd's socket name once per process, so
// the steps share one stack; they run in this order because the last one
// locks the card. The watcher runs throughout, as in the agent: it must
// send the card no command while nothing happens, and report removal,
// reinsertion and a swap at once.
func TestOpenSC(t *testing.T) {
	s, c := startPIV(t, "555000111222")
	s.Reader.Insert(c)
	m, err := Open(s.Module)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := NewWatcher([]*Module{m}, 0)
	evs := pollUntil(t, w)
	if len(evs) != 1 || evs[0].Kind != Inserted || evs[0].Token.Label != "555000111222" || evs[0].Token.Serial != c.Serial() {
		t.Fatalf("first events %v, want the PIV card (serial %s) inserted", evs, c.Serial())
	}
	tok := evs[0].Token

	events := make(chan Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, events); close(done) }()
	defer func() { cancel(); <-done }()
	// Run's first look reads the card (it is new to Run): let it finish.
	if evs := nextEvents(events, 2*time.Second); len(evs) != 0 {
		t.Fatalf("Run's first look reported %v; the card did not move", evs)
	}

	t.Run("idle: no card command while nobody logs in", func(t *testing.T) {
		before := s.Reader.Count()
		evs := nextEvents(events, idleFor())
		if n := s.Reader.Count() - before; n != 0 {
			t.Errorf("the watcher sent the idle card %d APDUs in %v (%.0f a minute), want 0: %v", n, idleFor(), float64(n)/idleFor().Minutes(), s.Reader.Records(before))
		}
		if len(evs) != 0 {
			t.Errorf("events %v while the card sat in the reader", evs)
		}
	})

	t.Run("login and sign verified by openssl", func(t *testing.T) {
		sess, err := OpenSession(tok)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		id, err := sess.Identity()
		if err != nil || id.UID != "555000111222" {
			t.Fatalf("identity %+v (%v)", id, err)
		}
		if err := sess.Login(pin); err != nil {
			t.Fatal(err)
		}
		sg, err := sess.Signer()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			der, err := cms.Sign([]byte("piv challenge"), id.Cert, sg, h)
			if err != nil {
				t.Fatal(err)
			}
			verifyOpenSSL(t, der, []byte("piv challenge"))
		}
		if err := sess.Logout(); err != nil {
			t.Fatal(err)
		}
		if evs := nextEvents(events, 500*time.Millisecond); len(evs) != 0 {
			t.Errorf("a login made the watcher report %v", evs)
		}
	})

	// held is a session logged in and kept open across removal and
	// reinsertion, as the login machine holds one: OpenSC 0.23 initialised
	// with its own locks wedged there (docs/card.md, "OpenSC").
	held, err := OpenSession(tok)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	t.Run("removal while logged in reported at once; the held session is dead", func(t *testing.T) {
		if err := held.Login(pin); err != nil {
			t.Fatal(err)
		}
		if evs := nextEvents(events, 500*time.Millisecond); len(evs) != 0 {
			t.Fatalf("a login made the watcher report %v", evs)
		}
		start := time.Now()
		s.Reader.Remove()
		select {
		case ev := <-events:
			d := time.Since(start)
			if ev.Kind != Removed || ev.Token.Serial != c.Serial() {
				t.Fatalf("event %v, want the card removed", ev)
			}
			t.Logf("removal reported %v after the card left", d.Round(time.Millisecond))
			if d > 2*time.Second {
				t.Errorf("removal reported after %v, want within 2 s (pcscd polls vpcd every 400 ms)", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no Removed in 10 s")
		}
		_, err := held.PINStatus()
		wantCode(t, err, protocol.CodeCardRemoved)
	})

	t.Run("reinsertion: inserted again, readable, no hang", func(t *testing.T) {
		s.Reader.Insert(c)
		evs := nextEvents(events, 10*time.Second)
		if len(evs) != 1 || evs[0].Kind != Inserted || evs[0].Token.Serial != c.Serial() {
			t.Fatalf("events %v, want the card inserted", evs)
		}
		tok = evs[0].Token
		got := make(chan error, 1)
		go func() {
			sess, err := OpenSession(tok)
			if err == nil {
				_, err = sess.PINStatus()
				sess.Close()
			}
			got <- err
		}()
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("C_GetTokenInfo after reinsertion did not return in 20 s: OpenSC's card lock (docs/card.md, \"OpenSC\")")
		}
	})

	c2 := newPIVCard(t, "555000333444")
	t.Run("swap: the other card, the old session dead", func(t *testing.T) {
		sess, err := OpenSession(tok)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		s.Reader.Swap(c2)
		var evs []Event
		for len(evs) == 0 || evs[len(evs)-1].Kind == Removed {
			more := nextEvents(events, 10*time.Second)
			if len(more) == 0 {
				break
			}
			evs = append(evs, more...)
		}
		// PC/SC sees the slot empty before c2 is in: a removal, then an
		// insertion; a swap within one look would be Swapped.
		switch {
		case len(evs) == 2 && evs[0].Kind == Removed && evs[0].Token.Serial == c.Serial() && evs[1].Kind == Inserted && evs[1].Token.Serial == c2.Serial():
		case len(evs) == 1 && evs[0].Kind == Swapped && evs[0].Token.Serial == c2.Serial():
		default:
			t.Fatalf("events %v, want %s removed and %s inserted", evs, c.Serial(), c2.Serial())
		}
		tok = evs[len(evs)-1].Token
		_, err = sess.PINStatus()
		wantCode(t, err, protocol.CodeCardRemoved)
	})
	c = c2

	t.Run("a polling watcher too: removal while logged in, and the card back", func(t *testing.T) {
		// Modules that PC/SC cannot watch are polled. OpenSC initialised
		// with its own locks wedged a poll after the card left
		// (docs/card.md, "OpenSC"): a watcher polling OpenSC must come
		// through a removal as well.
		pw := NewWatcher([]*Module{m}, 0)
		pw.OpenReaders = noReaders
		if evs := pollWithin(t, pw, 10*time.Second); len(evs) != 1 || evs[0].Kind != Inserted {
			t.Fatalf("first poll %v, want the card", evs)
		}
		sess, err := OpenSession(tok)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.Login(pin); err != nil {
			t.Fatal(err)
		}
		s.Reader.Remove()
		if evs := pollWithin(t, pw, 10*time.Second); len(evs) != 1 || evs[0].Kind != Removed {
			t.Fatalf("events %v, want the card removed", evs)
		}
		s.Reader.Insert(c)
		evs := pollWithin(t, pw, 10*time.Second)
		if len(evs) != 1 || evs[0].Kind != Inserted || evs[0].Token.Serial != c.Serial() {
			t.Fatalf("events %v, want the card inserted again", evs)
		}
		tok = evs[0].Token
		// Run saw the same removal and insertion.
		if got := nextEvents(events, 3*time.Second); len(got) != 2 || got[0].Kind != Removed || got[1].Kind != Inserted {
			t.Errorf("Run reported %v, want the card removed and inserted", got)
		}
	})

	t.Run("wrong passcodes: the card's counter, then locked, no fourth VERIFY", func(t *testing.T) {
		sess, err := OpenSession(tok)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		before := c.Verifies()
		for i, want := range []struct {
			code     protocol.Code
			attempts int
		}{{protocol.CodePINIncorrect, 2}, {protocol.CodePINIncorrect, 1}, {protocol.CodePINLocked, 0}} {
			err := sess.Login("000000")
			wantCode(t, err, want.code)
			st, _ := PINStatusOf(err)
			if st.AttemptsLeft != want.attempts || c.TriesLeft() != want.attempts {
				t.Errorf("attempt %d: host says %d left, card says %d; want %d", i+1, st.AttemptsLeft, c.TriesLeft(), want.attempts)
			}
		}
		if n := c.Verifies() - before; n != 3 {
			t.Fatalf("%d VERIFY with a passcode reached the card, want 3", n)
		}
		wantCode(t, sess.Login(pin), protocol.CodePINLocked)
		if n := c.Verifies() - before; n != 3 {
			t.Errorf("a fourth VERIFY reached the locked card (%d in all)", n)
		}
	})
}
