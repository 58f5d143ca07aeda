// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package vcard_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
)

func TestInit_Validation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts vcard.InitOptions
		err  string // "" for success
	}{
		// The defaults make a usable card.
		{"defaults", vcard.InitOptions{PIN: "123456"}, ""},
		// Old cards had 4-character alphanumeric passcodes.
		{"old passcode", vcard.InitOptions{PIN: "ab12"}, ""},
		{"no passcode", vcard.InitOptions{}, "passcode"},
		// NHS passcodes are at most 8 characters.
		{"long passcode", vcard.InitOptions{PIN: "123456789"}, "passcode"},
		// A space could not be typed on every PIN pad, and is never valid.
		{"passcode with space", vcard.InitOptions{PIN: "12 456"}, "passcode"},
		// The user id is the certificate's 12-digit CN.
		{"short uid", vcard.InitOptions{PIN: "123456", UID: "5550001"}, "12 digits"},
		{"long label", vcard.InitOptions{PIN: "123456", Label: strings.Repeat("L", 33)}, "label"},
		// The name is one line of the state file.
		{"name with newline", vcard.InitOptions{PIN: "123456", Name: "a\nb"}, "name"},
		{"negative timeout", vcard.InitOptions{PIN: "123456", PINPadTimeout: -time.Second}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.PKI = testPKI(t)
			if tc.opts.UID == "" && tc.opts.Name == "" {
				tc.opts.User = testUser(t, vcard.DefaultUID)
			}
			_, err := vcard.Init(t.TempDir(), tc.opts)
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Init = %v; want an error about %s", err, tc.err)
			}
		})
	}
}

func TestInit_RefusesExistingCardUnlessForced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := vcard.InitOptions{PIN: "123456", User: testUser(t, vcard.DefaultUID)}
	if _, err := vcard.Init(dir, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := vcard.Init(dir, opts); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second Init = %v; want a hint to use --force", err)
	}
	c, _ := vcard.Open(dir)
	before := status(t, c)
	opts.Force = true
	if _, err := vcard.Init(dir, opts); err != nil {
		t.Fatal(err)
	}
	after := status(t, c)
	// A module with sessions on the old card must see a new card, even
	// with the same key.
	if after.Generation <= before.Generation || after.Serial == before.Serial {
		t.Fatalf("forced Init: generation %d -> %d, serial %s -> %s", before.Generation, after.Generation, before.Serial, after.Serial)
	}
}

func TestInit_PKIDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pkiDir := filepath.Join(t.TempDir(), "pki")
	c, err := vcard.Init(dir, vcard.InitOptions{PIN: "123456", PKIDir: pkiDir})
	if err != nil {
		t.Fatal(err)
	}
	p, err := testpki.Load(pkiDir)
	if err != nil {
		t.Fatalf("the PKI was not saved in --pki: %v", err)
	}
	cert := certOf(t, c)
	if err := p.VerifyUser(cert); err != nil {
		t.Fatalf("card certificate does not chain to the PKI in %s: %v", pkiDir, err)
	}
	// Swap issues from the same PKI without being given it.
	if err := c.Swap(vcard.SwapOptions{UID: "555000999888"}); err != nil {
		t.Fatal(err)
	}
	cert2 := certOf(t, c)
	if cert2.Subject.CommonName != "555000999888" || p.VerifyUser(cert2) != nil {
		t.Fatalf("swapped certificate: CN %s", cert2.Subject.CommonName)
	}
	if fi, err := os.Stat(filepath.Join(dir, vcard.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("card.key: %v, %v; want mode 0600", fi.Mode(), err)
	}
}

func TestCard_Transitions(t *testing.T) {
	t.Parallel()
	c := newCard(t, vcard.InitOptions{})
	st := status(t, c)
	if !st.Present || st.AttemptsLeft != 3 || st.Locked || st.UID != vcard.DefaultUID || st.Name != "User "+vcard.DefaultUID || st.Generation != 1 {
		t.Fatalf("new card status = %+v", st)
	}
	// Each step: an action and the status fields it must leave.
	for _, step := range []struct {
		name    string
		act     func() error
		present bool
		gen     uint64
		locked  bool
	}{
		{"remove", c.Remove, false, 2, false},
		{"remove again is a no-op", c.Remove, false, 2, false},
		{"insert", c.Insert, true, 3, false},
		{"insert again is a no-op", c.Insert, true, 3, false},
		{"lock", c.Lock, true, 3, true},
		{"unlock", c.Unlock, true, 3, false},
		{"swap", func() error { return c.Swap(vcard.SwapOptions{User: testUser(t, "555000333444")}) }, true, 4, false},
		// A swap into an empty reader inserts the new card.
		{"remove before swap", c.Remove, false, 5, false},
		{"swap into empty reader", func() error { return c.Swap(vcard.SwapOptions{User: testUser(t, vcard.DefaultUID)}) }, true, 6, false},
	} {
		if err := step.act(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		st := status(t, c)
		if st.Present != step.present || st.Generation != step.gen || st.Locked != step.locked {
			t.Fatalf("%s: status = %+v; want present %v, generation %d, locked %v", step.name, st, step.present, step.gen, step.locked)
		}
	}
	// A card made with an in-memory PKI cannot swap without one.
	if err := c.Swap(vcard.SwapOptions{}); err == nil || !strings.Contains(err.Error(), "SwapOptions.PKI") {
		t.Fatalf("Swap without a PKI = %v", err)
	}
}

func TestInit_UserMustMatch(t *testing.T) {
	t.Parallel()
	a, b := testUser(t, vcard.DefaultUID), testUser(t, "555000333444")
	mixed := &testpki.User{UID: a.UID, Name: a.Name, Cert: a.Cert, Key: b.Key}
	_, err := vcard.Init(t.TempDir(), vcard.InitOptions{PIN: "123456", User: mixed})
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Init with a key that is not the certificate's = %v", err)
	}
	c := newCard(t, vcard.InitOptions{})
	if err := c.Swap(vcard.SwapOptions{User: mixed}); err == nil {
		t.Fatal("Swap accepted a key that is not the certificate's")
	}
}

func TestCard_FaultRoundTrip(t *testing.T) {
	t.Parallel()
	c := newCard(t, vcard.InitOptions{})
	f, err := vcard.ParseFault("C_Sign", "device_error", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetFault(f); err != nil {
		t.Fatal(err)
	}
	st := status(t, c)
	if st.Fault == nil || *st.Fault != f {
		t.Fatalf("status fault = %v; want %v", st.Fault, f)
	}
	b, _ := json.Marshal(st.Fault)
	if !strings.Contains(string(b), `"rvName":"CKR_DEVICE_ERROR"`) {
		t.Fatalf("fault JSON = %s; want rvName", b)
	}
	if err := c.ClearFault(); err != nil {
		t.Fatal(err)
	}
	if st := status(t, c); st.Fault != nil {
		t.Fatalf("fault after ClearFault = %v", st.Fault)
	}
}

func TestParseFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, fn, action string
		want             vcard.Fault
		ok               bool
	}{
		// Full PKCS#11 name.
		{"name", "C_Sign", "CKR_DEVICE_ERROR", vcard.Fault{Function: "C_Sign", RV: 0x30}, true},
		// Short, lower-case name, as people type it.
		{"short name", "C_Login", "pin_locked", vcard.Fault{Function: "C_Login", RV: 0xA4}, true},
		// Any number, for codes without a name here.
		{"number", "C_GetTokenInfo", "0x1234", vcard.Fault{Function: "C_GetTokenInfo", RV: 0x1234}, true},
		{"remove", "C_Sign", "remove", vcard.Fault{Function: "C_Sign", Remove: true}, true},
		// CKR_OK would be no fault at all.
		{"ok is not a fault", "C_Sign", "CKR_OK", vcard.Fault{}, false},
		{"unknown name", "C_Sign", "CKR_NOPE", vcard.Fault{}, false},
		// Only functions that touch the token can fail this way.
		{"unknown function", "C_Encrypt", "CKR_DEVICE_ERROR", vcard.Fault{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vcard.ParseFault(tc.fn, tc.action, false)
			if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
				t.Fatalf("ParseFault = %+v, %v; want %+v (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestOpen_NoCard(t *testing.T) {
	t.Parallel()
	_, err := vcard.Open(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "oia-vcard init") {
		t.Fatalf("Open on an empty directory = %v; want a hint to run init", err)
	}
}

func TestPINPadEnter_BadPasscode(t *testing.T) {
	t.Parallel()
	c := newCard(t, vcard.InitOptions{PINPad: true})
	if err := c.PINPadEnter(context.Background(), "1"); err == nil {
		t.Fatal("PINPadEnter accepted a 1-character passcode")
	}
}
