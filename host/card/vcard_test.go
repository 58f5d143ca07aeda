// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"crypto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// The virtual NHS card of this test process (OIA_VCARD_DIR is read once, at
// C_Initialize, so there is one; setupVCard makes it in TestMain).
var vc *vcard.Card

func setupVCard(tmp string) error {
	var err error
	vc, err = vcard.Init(tmp+"/vcard", vcard.InitOptions{PIN: pin, PKI: fx.pki, Label: "OIA VCARD"})
	if err != nil {
		return err
	}
	return os.Setenv(vcard.EnvDir, vc.Dir())
}

// TestVCard runs against the virtual NHS smartcard, which can do what
// SoftHSM cannot: lock, final try, PIN pad, removal, swap. The subtests
// share the card and run in order; each leaves it inserted and unlocked.
func TestVCard(t *testing.T) {
	if fx.skip != "" {
		t.Skip(fx.skip)
	}
	m, err := Open(vcard.ModulePath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := NewWatcher([]*Module{m}, 0)
	evs := w.Poll()
	if len(evs) != 1 || evs[0].Kind != Inserted || evs[0].Token.Label != "OIA VCARD" {
		t.Fatalf("first poll %v, want the virtual card inserted", evs)
	}
	reset := func(t *testing.T) {
		t.Helper()
		for _, err := range []error{vc.ClearFault(), vc.SetPINPad(false, 0), vc.Unlock(), vc.Insert()} {
			if err != nil {
				t.Fatal(err)
			}
		}
		w.Poll()
	}
	open := func(t *testing.T) *Session {
		t.Helper()
		s, err := OpenSession(tokenByLabel(t, m, "OIA VCARD"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Logout(); s.Close(); reset(t) })
		return s
	}

	t.Run("sign verified by openssl", func(t *testing.T) {
		s := open(t)
		if err := s.Login(pin); err != nil {
			t.Fatal(err)
		}
		id, err := s.Identity()
		if err != nil {
			t.Fatal(err)
		}
		st, err := vc.Status()
		if err != nil {
			t.Fatal(err)
		}
		if !id.ValidUID() || id.UID != st.UID {
			t.Errorf("uid %q, want %s", id.UID, st.UID)
		}
		sg, err := s.Signer()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			der, err := cms.Sign([]byte("vcard challenge"), id.Cert, sg, h)
			if err != nil {
				t.Fatal(err)
			}
			verifyOpenSSL(t, der, []byte("vcard challenge"))
		}
	})

	t.Run("three wrong passcodes lock the card", func(t *testing.T) {
		s := open(t)
		for i, want := range []struct {
			code     protocol.Code
			attempts int
			message  string
		}{
			{protocol.CodePINIncorrect, 2, "2 attempts left"},
			{protocol.CodePINIncorrect, 1, "one more wrong passcode will lock"},
			{protocol.CodePINLocked, 0, "locked"},
		} {
			err := s.Login("000000")
			wantCode(t, err, want.code)
			st, ok := PINStatusOf(err)
			if !ok || st.AttemptsLeft != want.attempts || st.FinalTry != (want.attempts == 1) || st.Locked != (want.attempts == 0) {
				t.Errorf("attempt %d: status %+v, want %d left", i+1, st, want.attempts)
			}
			if msg := protocol.BodyOf(err).Message; !strings.Contains(msg, want.message) || strings.Contains(err.Error(), "000000") {
				t.Errorf("attempt %d: message %q, want %q and never the passcode", i+1, msg, want.message)
			}
		}
		// Locked: refused without calling C_Login, which a fault would show.
		if err := vc.SetFault(vcard.Fault{Function: "C_Login", RV: 0x5}); err != nil {
			t.Fatal(err)
		}
		err := s.Login(pin)
		wantCode(t, err, protocol.CodePINLocked)
		if st, _ := PINStatusOf(err); !st.Locked {
			t.Errorf("status %+v, want locked", st)
		}
	})

	t.Run("locked card refused without C_Login", func(t *testing.T) {
		s := open(t)
		if err := vc.Lock(); err != nil {
			t.Fatal(err)
		}
		if err := vc.SetFault(vcard.Fault{Function: "C_Login", RV: 0x5}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.Login(pin), protocol.CodePINLocked)
	})

	t.Run("passcode length checked before the card", func(t *testing.T) {
		s := open(t)
		st, err := s.PINStatus()
		if err != nil || st.MinLen != vcard.MinPINLen || st.MaxLen != vcard.MaxPINLen {
			t.Fatalf("status %+v (%v), want lengths %d-%d", st, err, vcard.MinPINLen, vcard.MaxPINLen)
		}
		wantCode(t, s.Login("123456789"), protocol.CodePINInvalid)
		if st, _ := s.PINStatus(); st.AttemptsLeft != 3 {
			t.Errorf("a too-long passcode cost an attempt: %+v", st)
		}
	})

	t.Run("pin pad", func(t *testing.T) {
		if err := vc.SetPINPad(true, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		s := open(t)
		st, err := s.PINStatus()
		if err != nil || !st.PINPad {
			t.Fatalf("status %+v (%v), want a PIN pad", st, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Cancel on the keypad: USER_ABORT, no attempt counted.
		done := make(chan error, 1)
		go func() { done <- s.Login("ignored on a pin pad") }()
		if err := vc.PINPadCancel(ctx); err != nil {
			t.Fatal(err)
		}
		wantCode(t, <-done, protocol.CodeUserAbort)
		// The passcode typed on the keypad.
		go func() { done <- s.Login("") }()
		if err := vc.PINPadEnter(ctx, pin); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("pin pad login: %v", err)
		}
		if st, _ := s.PINStatus(); st.AttemptsLeft != 3 {
			t.Errorf("status %+v, want 3 attempts", st)
		}
	})

	t.Run("removal mid-session and re-insertion", func(t *testing.T) {
		s := open(t)
		if err := s.Login(pin); err != nil {
			t.Fatal(err)
		}
		if err := vc.Remove(); err != nil {
			t.Fatal(err)
		}
		_, err := s.PINStatus()
		wantCode(t, err, protocol.CodeCardRemoved)
		_, err = s.Signer()
		if c := protocol.CodeOf(err); c != protocol.CodeCardRemoved && c != protocol.CodeInvalidState {
			t.Errorf("Signer after removal: %v", err)
		}
		if evs := w.Poll(); len(evs) != 1 || evs[0].Kind != Removed {
			t.Fatalf("events %v, want removed", evs)
		}
		if err := vc.Insert(); err != nil {
			t.Fatal(err)
		}
		evs := w.Poll()
		if len(evs) != 1 || evs[0].Kind != Inserted {
			t.Fatalf("events %v, want inserted", evs)
		}
		s2, err := OpenSession(evs[0].Token)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if err := s2.Login(pin); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("removal mid-signature", func(t *testing.T) {
		s := open(t)
		if err := s.Login(pin); err != nil {
			t.Fatal(err)
		}
		id, _ := s.Identity()
		sg, err := s.Signer()
		if err != nil {
			t.Fatal(err)
		}
		if err := vc.SetFault(vcard.Fault{Function: "C_Sign", Remove: true, Once: true}); err != nil {
			t.Fatal(err)
		}
		_, err = cms.Sign([]byte("challenge"), id.Cert, sg, crypto.SHA1)
		wantCode(t, err, protocol.CodeCardRemoved)
		if evs := w.Poll(); len(evs) != 1 || evs[0].Kind != Removed {
			t.Fatalf("events %v, want removed", evs)
		}
	})

	t.Run("removal mid-login", func(t *testing.T) {
		s := open(t)
		if err := vc.SetFault(vcard.Fault{Function: "C_Login", Remove: true, Once: true}); err != nil {
			t.Fatal(err)
		}
		err := s.Login(pin)
		wantCode(t, err, protocol.CodeCardRemoved)
	})

	t.Run("swap", func(t *testing.T) {
		s := open(t)
		before := s.Token()
		if err := vc.Swap(vcard.SwapOptions{UID: "100000000009", PKI: fx.pki}); err != nil {
			t.Fatal(err)
		}
		evs := w.Poll()
		if len(evs) != 1 || evs[0].Kind != Swapped || evs[0].Token.Serial == before.Serial {
			t.Fatalf("events %v, want swapped to a new serial", evs)
		}
		_, err := s.PINStatus()
		wantCode(t, err, protocol.CodeCardRemoved) // the session was on the old card
		s2, err := OpenSession(evs[0].Token)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		id, err := s2.Identity()
		if err != nil || id.UID != "100000000009" {
			t.Fatalf("identity %+v (%v), want the new card's user", id, err)
		}
	})
}
