// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"crypto"
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

// TestOpenSC runs the card package through the chain a trust's Linux
// desktop has: OpenSC's opensc-pkcs11.so, pcscd, a reader driver and a
// card that answers APDUs (a PIV card, OpenSC's best-supported
// application). libpcsclite reads pcscd's socket name once per process, so
// the steps share one stack and one card; they run in this order because
// the last one locks the card. Removal and reinsertion through OpenSC are
// not here yet: in OpenSC 0.23 a C_GetTokenInfo after a reinsertion can
// wait for ever on a lock (docs/card.md, "OpenSC").
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
