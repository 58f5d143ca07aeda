// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// openVCard makes a virtual NHS card of its own for one test and opens the
// module on it. The module reads OIA_VCARD_DIR at every C_Initialize and
// the last Close of a module finalises it, so each test gets a fresh card
// and a fresh initialisation; like every test that sets the environment,
// it cannot run in parallel. It returns the card, a watcher that has seen
// the card inserted, and a session on it; all are closed when t ends.
func openVCard(t *testing.T, opts vcard.InitOptions) (*vcard.Card, *Watcher, *Session) {
	t.Helper()
	opts.PIN, opts.User, opts.Label = pin, fx.holder, "OIA VCARD"
	vc, err := vcard.Init(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := vc.Status()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(vcard.EnvDir, vc.Dir())
	m, err := Open(vcard.ModulePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close the module: %v", err)
		}
	})
	w := NewWatcher([]*Module{m}, 0)
	evs := w.Poll()
	if len(evs) != 1 || evs[0].Kind != Inserted || evs[0].Token.Label != "OIA VCARD" {
		t.Fatalf("first poll %v, want the virtual card inserted", evs)
	}
	if evs[0].Token.Serial != st.Serial {
		t.Fatalf("the module shows card %s, want this test's %s: another test left the module open", evs[0].Token.Serial, st.Serial)
	}
	s, err := OpenSession(evs[0].Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Logout(); s.Close() })
	return vc, w, s
}

// TestVCard runs against the virtual NHS smartcard, which can do what
// SoftHSM cannot: lock, final try, PIN pad, removal, swap. Each case has a
// card of its own, inserted and unlocked, and a session on it.
func TestVCard(t *testing.T) {
	if fx.skip != "" {
		t.Skip(fx.skip)
	}
	for _, tc := range []struct {
		name string
		opts vcard.InitOptions // the card's; openVCard sets the passcode, user and label
		run  func(t *testing.T, vc *vcard.Card, w *Watcher, s *Session)
		why  string
	}{
		{"sign verified by openssl", vcard.InitOptions{}, testVCardSign,
			"a login and a CMS signature with each hash that openssl accepts: the card works end to end"},
		{"three wrong passcodes lock the card", vcard.InitOptions{}, testVCardWrongPasscodes,
			"each wrong passcode says how many attempts are left, never the passcode; the third locks"},
		{"locked card refused without C_Login", vcard.InitOptions{}, testVCardLocked,
			"a card locked from outside is refused from its flags, not by spending an attempt"},
		{"passcode length checked before the card", vcard.InitOptions{}, testVCardPINLength,
			"a passcode the card cannot take costs no attempt"},
		{"pin pad", vcard.InitOptions{PINPad: true, PINPadTimeout: 10 * time.Second}, testVCardPINPad,
			"cancel on the keypad is USER_ABORT and costs no attempt; an entry on the keypad logs in"},
		{"removal mid-session and re-insertion", vcard.InitOptions{}, testVCardRemoveInsert,
			"the old session answers CARD_REMOVED, the watcher sees both changes, the card works again"},
		{"removal mid-signature", vcard.InitOptions{}, testVCardRemoveSigning,
			"a card pulled during C_Sign is CARD_REMOVED, not a signing error"},
		{"removal mid-login", vcard.InitOptions{}, testVCardRemoveLogin,
			"a card pulled during C_Login is CARD_REMOVED, not a wrong passcode"},
		{"swap", vcard.InitOptions{}, testVCardSwap,
			"another card in the reader is a swap to a new serial and user; the old session is dead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc, w, s := openVCard(t, tc.opts)
			tc.run(t, vc, w, s)
			if t.Failed() {
				t.Log("the case checks that", tc.why)
			}
		})
	}
}

func testVCardSign(t *testing.T, vc *vcard.Card, _ *Watcher, s *Session) {
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
}

func testVCardWrongPasscodes(t *testing.T, vc *vcard.Card, _ *Watcher, s *Session) {
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
}

func testVCardLocked(t *testing.T, vc *vcard.Card, _ *Watcher, s *Session) {
	if err := vc.Lock(); err != nil {
		t.Fatal(err)
	}
	if err := vc.SetFault(vcard.Fault{Function: "C_Login", RV: 0x5}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Login(pin), protocol.CodePINLocked)
}

func testVCardPINLength(t *testing.T, _ *vcard.Card, _ *Watcher, s *Session) {
	st, err := s.PINStatus()
	if err != nil || st.MinLen != vcard.MinPINLen || st.MaxLen != vcard.MaxPINLen {
		t.Fatalf("status %+v (%v), want lengths %d-%d", st, err, vcard.MinPINLen, vcard.MaxPINLen)
	}
	wantCode(t, s.Login("123456789"), protocol.CodePINInvalid)
	if st, _ := s.PINStatus(); st.AttemptsLeft != 3 {
		t.Errorf("a too-long passcode cost an attempt: %+v", st)
	}
}

func testVCardPINPad(t *testing.T, vc *vcard.Card, _ *Watcher, s *Session) {
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
}

func testVCardRemoveInsert(t *testing.T, vc *vcard.Card, w *Watcher, s *Session) {
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
}

func testVCardRemoveSigning(t *testing.T, vc *vcard.Card, w *Watcher, s *Session) {
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
}

func testVCardRemoveLogin(t *testing.T, vc *vcard.Card, _ *Watcher, s *Session) {
	if err := vc.SetFault(vcard.Fault{Function: "C_Login", Remove: true, Once: true}); err != nil {
		t.Fatal(err)
	}
	err := s.Login(pin)
	wantCode(t, err, protocol.CodeCardRemoved)
}

func testVCardSwap(t *testing.T, vc *vcard.Card, w *Watcher, s *Session) {
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
}
