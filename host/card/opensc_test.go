// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
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

// TestOpenSC runs the card package through the chain a trust's Linux
// desktop has: OpenSC's opensc-pkcs11.so, pcscd, a reader driver and a
// card that answers APDUs (a PIV card, OpenSC's best-supported
// application). libpcsclite reads pcscd's socket name once per process, so
// the steps share one stack and one card; they run in this order because
// the last one locks the card.
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
	})

	t.Run("removal while logged in is seen, and the card comes back", func(t *testing.T) {
		// With OpenSC 0.23 initialised with locks, the watcher's first
		// C_GetTokenInfo after the card left took the card's lock without
		// releasing it and the next one waited for ever (docs/card.md,
		// "OpenSC"): the poll must return.
		sess, err := OpenSession(tok)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.Login(pin); err != nil {
			t.Fatal(err)
		}
		s.Reader.Remove()
		evs := pollWithin(t, w, 10*time.Second)
		if len(evs) != 1 || evs[0].Kind != Removed {
			t.Fatalf("events %v, want the card removed", evs)
		}
		if _, err := sess.PINStatus(); protocol.CodeOf(err) != protocol.CodeCardRemoved {
			t.Errorf("the old session after removal: %v, want CARD_REMOVED", err)
		}
		s.Reader.Insert(c)
		evs = pollWithin(t, w, 10*time.Second)
		if len(evs) != 1 || evs[0].Kind != Inserted || evs[0].Token.Serial != c.Serial() {
			t.Fatalf("events %v, want the card inserted again", evs)
		}
		tok = evs[0].Token
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
