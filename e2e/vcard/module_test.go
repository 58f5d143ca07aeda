// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build cgo

package vcard_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// TestModule_ExportsOnlyPKCS11 checks that the module's files share their
// helpers among themselves only: a helper exported from the module could
// meet a function of the same name in the loading process (glibc has a
// warn), and one of them would be called in place of the other.
func TestModule_ExportsOnlyPKCS11(t *testing.T) {
	f, err := elf.Open(vcard.ModulePath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || elf.ST_BIND(s.Info) == elf.STB_LOCAL {
			continue // imported, or not visible outside the module
		}
		if !strings.HasPrefix(s.Name, "C_") {
			t.Errorf("the module exports %s; declare it in vcard.h, whose declarations are hidden", s.Name)
		}
		n++
	}
	if n != 68 {
		t.Errorf("the module exports %d symbols; want the 68 functions of PKCS#11 v2.40", n)
	}
}

func TestModule_InfoAndObjects(t *testing.T) {
	card := newCard(t, vcard.InitOptions{Label: "NHS TEST CARD"})
	p := module(t, card)
	st := status(t, card)

	info, err := p.GetInfo()
	if err != nil || info.ManufacturerID != "OIA Virtual Card" || info.CryptokiVersion.Major != 2 || info.CryptokiVersion.Minor != 40 {
		t.Fatalf("GetInfo = %+v, %v", info, err)
	}
	slots, err := p.GetSlotList(true)
	if err != nil || len(slots) != 1 {
		t.Fatalf("GetSlotList(true) = %v, %v; want the reader with the card", slots, err)
	}
	si, err := p.GetSlotInfo(slots[0])
	if err != nil || si.Flags != pkcs11.CKF_TOKEN_PRESENT|pkcs11.CKF_REMOVABLE_DEVICE|pkcs11.CKF_HW_SLOT {
		t.Fatalf("GetSlotInfo = %+v, %v", si, err)
	}
	ti, err := p.GetTokenInfo(slots[0])
	if err != nil {
		t.Fatal(err)
	}
	wantFlags := uint(pkcs11.CKF_RNG | pkcs11.CKF_LOGIN_REQUIRED | pkcs11.CKF_USER_PIN_INITIALIZED | pkcs11.CKF_TOKEN_INITIALIZED)
	if ti.Label != "NHS TEST CARD" || ti.SerialNumber != st.Serial || ti.ManufacturerID != "OIA Virtual Card" ||
		ti.Flags != wantFlags || ti.MinPinLen != 4 || ti.MaxPinLen != 8 {
		t.Fatalf("GetTokenInfo = %+v; want label, serial %s, flags %#x", ti, st.Serial, wantFlags)
	}
	mechs, err := p.GetMechanismList(slots[0])
	if err != nil || len(mechs) != 3 {
		t.Fatalf("GetMechanismList = %v, %v", mechs, err)
	}
	for _, m := range []uint{pkcs11.CKM_RSA_PKCS, pkcs11.CKM_SHA1_RSA_PKCS, pkcs11.CKM_SHA256_RSA_PKCS} {
		mi, err := p.GetMechanismInfo(slots[0], []*pkcs11.Mechanism{pkcs11.NewMechanism(m, nil)})
		if err != nil || mi.Flags&pkcs11.CKF_SIGN == 0 {
			t.Errorf("GetMechanismInfo(%#x) = %+v, %v; want CKF_SIGN", m, mi, err)
		}
	}
	_, err = p.GetMechanismInfo(slots[0], []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)})
	wantRV(t, "GetMechanismInfo(CKM_ECDSA)", err, pkcs11.CKR_MECHANISM_INVALID)

	sh := session(t, p)
	// Before login: the certificate and the public key, not the private key.
	if hs := find(t, p, sh); len(hs) != 2 {
		t.Fatalf("objects before login: %d; want 2 (certificate, public key)", len(hs))
	}
	if hs := find(t, p, sh, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)); len(hs) != 0 {
		t.Fatalf("private key visible before login")
	}
	certH := findOne(t, p, sh, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509))
	attrs, err := p.GetAttributeValue(sh, certH, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, nil),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(attrs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	want := certOf(t, card)
	if !cert.Equal(want) || cert.Subject.CommonName != vcard.DefaultUID {
		t.Fatalf("CKA_VALUE is not the card's certificate (CN %q)", cert.Subject.CommonName)
	}
	if err := testPKI(t).VerifyUser(cert); err != nil {
		t.Fatalf("certificate does not chain to the test root: %v", err)
	}
	if !bytes.Equal(attrs[2].Value, want.RawSubject) || !bytes.Equal(attrs[3].Value, want.RawIssuer) || string(attrs[4].Value) != "Authentication" {
		t.Fatalf("CKA_SUBJECT/CKA_ISSUER/CKA_LABEL do not match the certificate")
	}
	id := attrs[1].Value

	wantRV(t, "Login", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	// The private key, found the way NHSbuntu looks for it.
	keyH := findOne(t, p, sh, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA), pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true), pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	ka, err := p.GetAttributeValue(sh, keyH, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ka[0].Value, want.PublicKey.(*rsa.PublicKey).N.Bytes()) {
		t.Fatal("CKA_MODULUS of the private key is not the certificate's")
	}
	if !bytes.Equal(ka[1].Value, []byte{1}) || !bytes.Equal(ka[2].Value, []byte{1}) {
		t.Fatalf("CKA_PRIVATE, CKA_SENSITIVE = %x, %x; want true", ka[1].Value, ka[2].Value)
	}
	// Attributes that must not be read, and ones the key does not have.
	_, err = p.GetAttributeValue(sh, keyH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, nil)})
	wantRV(t, "CKA_PRIVATE_EXPONENT", err, pkcs11.CKR_ATTRIBUTE_SENSITIVE)
	_, err = p.GetAttributeValue(sh, keyH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	wantRV(t, "CKA_VALUE of a key", err, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID)
	_, err = p.GetAttributeValue(sh, 9999, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil)})
	wantRV(t, "unknown object", err, pkcs11.CKR_OBJECT_HANDLE_INVALID)

	rnd, err := p.GenerateRandom(sh, 32)
	if err != nil || len(rnd) != 32 {
		t.Fatalf("GenerateRandom = %x, %v", rnd, err)
	}
}

func TestModule_Sign(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	cert := certOf(t, card)
	sh := session(t, p)
	msg := []byte("NHS challenge 0123456789")

	// Signing needs a login.
	pub := findOne(t, p, sh, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY))
	err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}, pub)
	wantRV(t, "SignInit before login", err, pkcs11.CKR_USER_NOT_LOGGED_IN)

	wantRV(t, "Login", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	key := privateKey(t, p, sh)
	err = p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}, pub)
	wantRV(t, "SignInit with the public key", err, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED)

	sha1Sum, sha256Sum := sha1.Sum(msg), sha256.Sum256(msg)
	sha256Info := append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, sha256Sum[:]...)
	for _, tc := range []struct {
		name  string
		mech  uint
		input []byte
		hash  crypto.Hash
		parts bool
	}{
		// The token hashes: what the host uses when the card lists it.
		{"SHA256-RSA-PKCS", pkcs11.CKM_SHA256_RSA_PKCS, msg, crypto.SHA256, false},
		// The old cards' algorithm, still listed by NHS cards.
		{"SHA1-RSA-PKCS", pkcs11.CKM_SHA1_RSA_PKCS, msg, crypto.SHA1, false},
		// The caller hashes and sends the DigestInfo: the host's fallback.
		{"RSA-PKCS", pkcs11.CKM_RSA_PKCS, sha256Info, crypto.SHA256, false},
		// Multi-part, as pkcs11-tool signs big inputs.
		{"SHA256-RSA-PKCS in parts", pkcs11.CKM_SHA256_RSA_PKCS, msg, crypto.SHA256, true},
		{"RSA-PKCS in parts", pkcs11.CKM_RSA_PKCS, sha256Info, crypto.SHA256, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantRV(t, "SignInit", p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(tc.mech, nil)}, key), pkcs11.CKR_OK)
			var sig []byte
			var err error
			if tc.parts {
				half := len(tc.input) / 2
				if err = p.SignUpdate(sh, tc.input[:half]); err == nil {
					if err = p.SignUpdate(sh, tc.input[half:]); err == nil {
						sig, err = p.SignFinal(sh)
					}
				}
			} else {
				sig, err = p.Sign(sh, tc.input)
			}
			if err != nil {
				t.Fatal(err)
			}
			verify(t, cert, tc.hash, msg, sig)
		})
	}
	_ = sha1Sum

	// Input longer than the modulus allows, with CKM_RSA_PKCS.
	wantRV(t, "SignInit", p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, key), pkcs11.CKR_OK)
	_, err = p.Sign(sh, make([]byte, 250))
	wantRV(t, "Sign 250 bytes", err, pkcs11.CKR_DATA_LEN_RANGE)
	// The failed Sign ended the operation.
	_, err = p.Sign(sh, msg)
	wantRV(t, "Sign with no operation", err, pkcs11.CKR_OPERATION_NOT_INITIALIZED)
	err = p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, key)
	wantRV(t, "SignInit(CKM_ECDSA)", err, pkcs11.CKR_MECHANISM_INVALID)
}

func TestModule_LoginState(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	a, b := session(t, p), session(t, p)

	wantRV(t, "Login too short", p.Login(a, pkcs11.CKU_USER, "123"), pkcs11.CKR_PIN_LEN_RANGE)
	wantRV(t, "Login too long", p.Login(a, pkcs11.CKU_USER, "123456789"), pkcs11.CKR_PIN_LEN_RANGE)
	wantRV(t, "Login as SO", p.Login(a, pkcs11.CKU_SO, testPIN), pkcs11.CKR_USER_TYPE_INVALID)
	if f := pinFlags(t, p); f != 0 {
		t.Fatalf("flags after refused logins = %#x; a refused passcode must not count", f)
	}
	wantRV(t, "Logout before login", p.Logout(a), pkcs11.CKR_USER_NOT_LOGGED_IN)
	wantRV(t, "Login", p.Login(a, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	// Login state belongs to the application, not the session.
	wantRV(t, "Login on another session", p.Login(b, pkcs11.CKU_USER, testPIN), pkcs11.CKR_USER_ALREADY_LOGGED_IN)
	if si, err := p.GetSessionInfo(b); err != nil || si.State != pkcs11.CKS_RO_USER_FUNCTIONS {
		t.Fatalf("GetSessionInfo(b) = %+v, %v; want CKS_RO_USER_FUNCTIONS", si, err)
	}
	privateKey(t, p, b)
	wantRV(t, "Logout on b", p.Logout(b), pkcs11.CKR_OK)
	if si, err := p.GetSessionInfo(a); err != nil || si.State != pkcs11.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("GetSessionInfo(a) after logout = %+v, %v; want CKS_RO_PUBLIC_SESSION", si, err)
	}
	// Closing the last session logs out too.
	wantRV(t, "Login", p.Login(a, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	wantRV(t, "CloseSession", p.CloseSession(a), pkcs11.CKR_OK)
	wantRV(t, "CloseSession", p.CloseSession(b), pkcs11.CKR_OK)
	wantRV(t, "CloseSession twice", p.CloseSession(b), pkcs11.CKR_SESSION_HANDLE_INVALID)
	c := session(t, p)
	if si, err := p.GetSessionInfo(c); err != nil || si.State != pkcs11.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("GetSessionInfo after closing all = %+v, %v; want public", si, err)
	}
	rw, err := p.OpenSession(slot(t, p), pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	wantRV(t, "OpenSession RW", err, pkcs11.CKR_OK)
	if si, _ := p.GetSessionInfo(rw); si.State != pkcs11.CKS_RW_PUBLIC_SESSION {
		t.Fatalf("RW session state = %d", si.State)
	}
	_, err = p.OpenSession(slot(t, p), pkcs11.CKF_RW_SESSION)
	wantRV(t, "OpenSession without CKF_SERIAL_SESSION", err, pkcs11.CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	_, err = p.OpenSession(7, pkcs11.CKF_SERIAL_SESSION)
	wantRV(t, "OpenSession on slot 7", err, pkcs11.CKR_SLOT_ID_INVALID)
	wantRV(t, "Initialize again", p.Initialize(), pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)
}

func TestModule_WrongPasscodeLocks(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	sh := session(t, p)
	// Each step: a login, what it returns, and the passcode flags after it,
	// as OpenSC reports a real card (one flag at a time).
	for i, step := range []struct {
		pin   string
		rv    uint
		flags uint
	}{
		{"999999", pkcs11.CKR_PIN_INCORRECT, pkcs11.CKF_USER_PIN_COUNT_LOW},
		{testPIN, pkcs11.CKR_OK, 0}, // a right passcode resets the count
		{"logout", 0, 0},
		{"999999", pkcs11.CKR_PIN_INCORRECT, pkcs11.CKF_USER_PIN_COUNT_LOW},
		{"888888", pkcs11.CKR_PIN_INCORRECT, pkcs11.CKF_USER_PIN_FINAL_TRY},
		{"777777", pkcs11.CKR_PIN_INCORRECT, pkcs11.CKF_USER_PIN_LOCKED}, // the third wrong one locks
		{testPIN, pkcs11.CKR_PIN_LOCKED, pkcs11.CKF_USER_PIN_LOCKED},     // even the right one is refused
		{"999999", pkcs11.CKR_PIN_LOCKED, pkcs11.CKF_USER_PIN_LOCKED},
	} {
		if step.pin == "logout" {
			wantRV(t, "Logout", p.Logout(sh), pkcs11.CKR_OK)
			continue
		}
		wantRV(t, fmt.Sprintf("step %d: Login(%s)", i, step.pin), p.Login(sh, pkcs11.CKU_USER, step.pin), step.rv)
		if f := pinFlags(t, p); f != step.flags {
			t.Fatalf("step %d: flags = %#x; want %#x", i, f, step.flags)
		}
	}
	if st := status(t, card); !st.Locked || st.AttemptsLeft != 0 {
		t.Fatalf("status = %+v; want locked", st)
	}
	// The lock is on the card: a fresh load of the module sees it.
	wantRV(t, "Finalize", p.Finalize(), pkcs11.CKR_OK)
	wantRV(t, "Initialize", p.Initialize(), pkcs11.CKR_OK)
	sh = session(t, p)
	wantRV(t, "Login after reload", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_PIN_LOCKED)

	if err := card.Unlock(); err != nil {
		t.Fatal(err)
	}
	if f := pinFlags(t, p); f != 0 {
		t.Fatalf("flags after unlock = %#x; want none", f)
	}
	wantRV(t, "Login after unlock", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)

	// oia-vcard lock locks a card with no wrong attempts.
	if err := card.Lock(); err != nil {
		t.Fatal(err)
	}
	if f := pinFlags(t, p); f != pkcs11.CKF_USER_PIN_LOCKED {
		t.Fatalf("flags after Lock = %#x", f)
	}
}

func TestModule_RemoveInsert(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	sh := session(t, p)
	wantRV(t, "Login", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	key := privateKey(t, p, sh)
	s := slot(t, p)

	if err := card.Remove(); err != nil {
		t.Fatal(err)
	}
	if slots, err := p.GetSlotList(true); err != nil || len(slots) != 0 {
		t.Fatalf("GetSlotList(true) with no card = %v, %v; want none", slots, err)
	}
	if si, err := p.GetSlotInfo(s); err != nil || si.Flags&pkcs11.CKF_TOKEN_PRESENT != 0 {
		t.Fatalf("GetSlotInfo with no card = %+v, %v; want no CKF_TOKEN_PRESENT", si, err)
	}
	_, err := p.GetTokenInfo(s)
	wantRV(t, "GetTokenInfo", err, pkcs11.CKR_TOKEN_NOT_PRESENT)
	_, err = p.OpenSession(s, pkcs11.CKF_SERIAL_SESSION)
	wantRV(t, "OpenSession", err, pkcs11.CKR_TOKEN_NOT_PRESENT)
	_, err = sign(p, sh, key, []byte("x"))
	wantRV(t, "Sign on the old session", err, pkcs11.CKR_DEVICE_REMOVED)
	_, err = p.GetSessionInfo(sh)
	wantRV(t, "GetSessionInfo on the old session", err, pkcs11.CKR_DEVICE_REMOVED)

	if err := card.Insert(); err != nil {
		t.Fatal(err)
	}
	// The old session stays dead after the card comes back.
	_, err = p.GetSessionInfo(sh)
	wantRV(t, "old session after re-insert", err, pkcs11.CKR_DEVICE_REMOVED)
	wantRV(t, "CloseSession on the old session", p.CloseSession(sh), pkcs11.CKR_OK)
	sh2 := session(t, p)
	// The login went with the card.
	if si, err := p.GetSessionInfo(sh2); err != nil || si.State != pkcs11.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("new session = %+v, %v; want public", si, err)
	}
	err = p.SignInit(sh2, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}, key)
	wantRV(t, "SignInit with the key handle of before", err, pkcs11.CKR_USER_NOT_LOGGED_IN)
	wantRV(t, "Login", p.Login(sh2, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	_, err = sign(p, sh2, key, []byte("x"))
	wantRV(t, "Sign with the key handle of before", err, pkcs11.CKR_KEY_HANDLE_INVALID)
	sig, err := sign(p, sh2, privateKey(t, p, sh2), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	verify(t, certOf(t, card), crypto.SHA256, []byte("x"), sig)
}

func TestModule_Swap(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	s := slot(t, p)
	before, err := p.GetTokenInfo(s)
	if err != nil {
		t.Fatal(err)
	}
	sh := session(t, p)
	wantRV(t, "Login", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)

	if err := card.Swap(vcard.SwapOptions{User: testUser(t, "555000333444")}); err != nil {
		t.Fatal(err)
	}
	after, err := p.GetTokenInfo(s)
	if err != nil {
		t.Fatal(err)
	}
	if after.SerialNumber == before.SerialNumber {
		t.Fatalf("serial %q did not change with the card", after.SerialNumber)
	}
	_, err = p.GetSessionInfo(sh)
	wantRV(t, "session on the first card", err, pkcs11.CKR_DEVICE_REMOVED)
	sh2 := session(t, p)
	wantRV(t, "Login on the second card", p.Login(sh2, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	certH := findOne(t, p, sh2, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE))
	attrs, err := p.GetAttributeValue(sh2, certH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(attrs[0].Value)
	if err != nil || cert.Subject.CommonName != "555000333444" {
		t.Fatalf("certificate after swap: CN %q, %v; want 555000333444", cert.Subject.CommonName, err)
	}
	sig, err := sign(p, sh2, privateKey(t, p, sh2), []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	verify(t, cert, crypto.SHA256, []byte("second"), sig)
}

func TestModule_PINPad(t *testing.T) {
	card := newCard(t, vcard.InitOptions{PINPad: true})
	p := module(t, card)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ti, err := p.GetTokenInfo(slot(t, p))
	if err != nil || ti.Flags&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH == 0 {
		t.Fatalf("GetTokenInfo = %#x, %v; want CKF_PROTECTED_AUTHENTICATION_PATH", ti.Flags, err)
	}
	sh := session(t, p)
	// The passcode is typed on the reader, never passed in.
	wantRV(t, "Login with a passcode", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_ARGUMENTS_BAD)

	// login starts a PIN pad login (miekg passes "" as NULL) and returns
	// its result when it ends.
	login := func() <-chan error {
		ch := make(chan error, 1)
		go func() { ch <- p.Login(sh, pkcs11.CKU_USER, "") }()
		return ch
	}
	for _, tc := range []struct {
		name  string
		act   func() error
		rv    uint
		flags uint
	}{
		// The holder types the right passcode.
		{"entry", func() error { return card.PINPadEnter(ctx, testPIN) }, pkcs11.CKR_OK, 0},
		// A wrong one counts like any other.
		{"wrong entry", func() error { return card.PINPadEnter(ctx, "000000") }, pkcs11.CKR_PIN_INCORRECT, pkcs11.CKF_USER_PIN_COUNT_LOW},
		// Cancel on the pad: no attempt counted.
		{"cancel", func() error { return card.PINPadCancel(ctx) }, pkcs11.CKR_FUNCTION_CANCELED, pkcs11.CKF_USER_PIN_COUNT_LOW},
		// While it waits the module serves other calls (the host's watcher
		// polls), and refuses a second login; then the holder types.
		{"others served while waiting", func() error {
			return waitPrompt(ctx, card, func() error {
				if _, err := p.GetTokenInfo(slot(t, p)); err != nil {
					return fmt.Errorf("GetTokenInfo during the wait: %w", err)
				}
				other := session(t, p)
				defer p.CloseSession(other)
				if err := p.Login(other, pkcs11.CKU_USER, ""); !errors.Is(err, pkcs11.Error(pkcs11.CKR_OPERATION_ACTIVE)) {
					return fmt.Errorf("second login during the wait = %v; want CKR_OPERATION_ACTIVE", err)
				}
				return card.PINPadEnter(ctx, testPIN)
			})
		}, pkcs11.CKR_OK, 0},
		// The card leaves the reader while it waits.
		{"removed", func() error { return waitPrompt(ctx, card, card.Remove) }, pkcs11.CKR_DEVICE_REMOVED, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := login()
			if err := tc.act(); err != nil {
				t.Fatal(err)
			}
			wantRV(t, "Login", <-done, tc.rv)
			if tc.rv == pkcs11.CKR_OK {
				if si, _ := p.GetSessionInfo(sh); si.State != pkcs11.CKS_RO_USER_FUNCTIONS {
					t.Fatalf("not logged in after the entry")
				}
				wantRV(t, "Logout", p.Logout(sh), pkcs11.CKR_OK)
			}
			if tc.rv != pkcs11.CKR_DEVICE_REMOVED {
				if f := pinFlags(t, p); f != tc.flags {
					t.Fatalf("flags = %#x; want %#x", f, tc.flags)
				}
			}
			if status(t, card).PINPadWaiting {
				t.Fatal("status still shows a waiting prompt")
			}
		})
	}

	// Nobody types: the reader gives up after its timeout.
	if err := card.Insert(); err != nil {
		t.Fatal(err)
	}
	if err := card.SetPINPad(true, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	sh = session(t, p)
	wantRV(t, "Login with nobody typing", <-login(), pkcs11.CKR_FUNCTION_CANCELED)
	// An entry with no login waiting is refused, not kept for later.
	short, cancelShort := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancelShort()
	if err := card.PINPadEnter(short, testPIN); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PINPadEnter with no login waiting = %v; want a deadline error", err)
	}
}

// waitPrompt runs fn once a PIN pad login is waiting.
func waitPrompt(ctx context.Context, card *vcard.Card, fn func() error) error {
	for {
		st, err := card.Status()
		if err != nil {
			return err
		}
		if st.PINPadWaiting {
			return fn()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestModule_Faults(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	sh := session(t, p)
	wantRV(t, "Login", p.Login(sh, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	key := privateKey(t, p, sh)
	msg := []byte("m")

	// Once: the next C_Sign fails, the one after works.
	if err := card.SetFault(vcard.Fault{Function: "C_Sign", RV: pkcs11.CKR_DEVICE_ERROR, Once: true}); err != nil {
		t.Fatal(err)
	}
	_, err := sign(p, sh, key, msg)
	wantRV(t, "Sign with a fault", err, pkcs11.CKR_DEVICE_ERROR)
	if st := status(t, card); st.Fault != nil {
		t.Fatalf("one-shot fault still set: %v", st.Fault)
	}
	// The failed call ended the operation, as any failed C_Sign does.
	_, err = p.Sign(sh, msg)
	wantRV(t, "Sign after the fault", err, pkcs11.CKR_OPERATION_NOT_INITIALIZED)
	if _, err := sign(p, sh, key, msg); err != nil {
		t.Fatalf("Sign after the one-shot fault: %v", err)
	}

	// Always: every C_GetTokenInfo fails until cleared.
	if err := card.SetFault(vcard.Fault{Function: "C_GetTokenInfo", RV: pkcs11.CKR_GENERAL_ERROR}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err = p.GetTokenInfo(slot(t, p))
		wantRV(t, "GetTokenInfo with a fault", err, pkcs11.CKR_GENERAL_ERROR)
	}
	if err := card.ClearFault(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetTokenInfo(slot(t, p)); err != nil {
		t.Fatalf("GetTokenInfo after ClearFault: %v", err)
	}

	// Remove: the card comes out during the next C_Sign.
	if err := card.SetFault(vcard.Fault{Function: "C_Sign", Remove: true, Once: true}); err != nil {
		t.Fatal(err)
	}
	_, err = sign(p, sh, key, msg)
	wantRV(t, "Sign while the card is pulled", err, pkcs11.CKR_DEVICE_REMOVED)
	if st := status(t, card); st.Present || st.Fault != nil {
		t.Fatalf("status after the removal fault = %+v; want absent, no fault", st)
	}
	_, err = p.GetTokenInfo(slot(t, p))
	wantRV(t, "GetTokenInfo", err, pkcs11.CKR_TOKEN_NOT_PRESENT)
}

func TestModule_Concurrent(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	cert := certOf(t, card)
	first := session(t, p)
	wantRV(t, "Login", p.Login(first, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	key := privateKey(t, p, first)

	// Signers on their own sessions, and a watcher polling the slot as the
	// host does, all at once.
	const workers, rounds = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh, err := p.OpenSession(0, pkcs11.CKF_SERIAL_SESSION)
			if err != nil {
				errs <- err
				return
			}
			defer p.CloseSession(sh)
			for i := range rounds {
				msg := []byte(fmt.Sprintf("worker %d round %d", w, i))
				sig, err := sign(p, sh, key, msg)
				if err != nil {
					errs <- err
					return
				}
				d := sha256.Sum256(msg)
				if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, d[:], sig); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range workers * rounds {
			if _, err := p.GetSlotList(true); err != nil {
				errs <- err
				return
			}
			if _, err := p.GetTokenInfo(0); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestModule_NoCardDir(t *testing.T) {
	// OIA_VCARD_DIR unset: C_Initialize fails with a hint on stderr.
	t.Setenv(vcard.EnvDir, "")
	p := pkcs11.New(vcard.ModulePath(t))
	if p == nil {
		t.Fatal("cannot load the module")
	}
	defer p.Destroy()
	wantRV(t, "Initialize without OIA_VCARD_DIR", p.Initialize(), pkcs11.CKR_GENERAL_ERROR)

	// An empty directory is a reader with no card in it.
	t.Setenv(vcard.EnvDir, t.TempDir())
	wantRV(t, "Initialize", p.Initialize(), pkcs11.CKR_OK)
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil || len(slots) != 0 {
		t.Fatalf("GetSlotList(true) = %v, %v; want no token", slots, err)
	}
	_, err = p.GetTokenInfo(0)
	wantRV(t, "GetTokenInfo", err, pkcs11.CKR_TOKEN_NOT_PRESENT)
}

// TestModule_ReinitializeFollowsDir checks what a process that drives
// several cards in turn relies on (host/card's TestVCard gives each case its
// own): C_Initialize after C_Finalize reads OIA_VCARD_DIR again, and nothing
// of the old card survives.
func TestModule_ReinitializeFollowsDir(t *testing.T) {
	first, second := newCard(t, vcard.InitOptions{}), newCard(t, vcard.InitOptions{})
	p := module(t, first)
	old := session(t, p)
	wantRV(t, "Login on the first card", p.Login(old, pkcs11.CKU_USER, testPIN), pkcs11.CKR_OK)
	wantRV(t, "Finalize", p.Finalize(), pkcs11.CKR_OK)
	t.Setenv(vcard.EnvDir, second.Dir())
	wantRV(t, "Initialize on the second card", p.Initialize(), pkcs11.CKR_OK)

	ti, err := p.GetTokenInfo(slot(t, p))
	if want := status(t, second).Serial; err != nil || ti.SerialNumber != want {
		t.Fatalf("token serial %q (%v); want the second card's %q", ti.SerialNumber, err, want)
	}
	_, err = p.GetSessionInfo(old)
	wantRV(t, "GetSessionInfo on the first card's session", err, pkcs11.CKR_SESSION_HANDLE_INVALID)
	info, err := p.GetSessionInfo(session(t, p))
	if err != nil || info.State != pkcs11.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("session state %d (%v); want a public session: the login was on the first card", info.State, err)
	}
}

func TestModule_WriteProtected(t *testing.T) {
	card := newCard(t, vcard.InitOptions{WriteProtected: true})
	p := module(t, card)
	_, err := p.OpenSession(0, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	wantRV(t, "OpenSession RW", err, pkcs11.CKR_TOKEN_WRITE_PROTECTED)
	ti, err := p.GetTokenInfo(0)
	if err != nil || ti.Flags&pkcs11.CKF_WRITE_PROTECTED == 0 || !strings.Contains(ti.Model, "NHS") {
		t.Fatalf("GetTokenInfo = %+v, %v; want CKF_WRITE_PROTECTED", ti, err)
	}
}

func TestModule_BrokenState(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	p := module(t, card)
	statePath := filepath.Join(card.Dir(), vcard.StateFile)
	good, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	// Each case: what the state file holds, and what the card then does.
	for _, tc := range []struct {
		name  string
		state []byte
		rv    uint
	}{
		// A torn or foreign file is a broken card, never half-read.
		{"garbage", []byte("this is not a state file\n"), pkcs11.CKR_DEVICE_ERROR},
		{"bad attempts", bytes.Replace(good, []byte("attempts=3"), []byte("attempts=9"), 1), pkcs11.CKR_DEVICE_ERROR},
		// Repaired: the card works again without a reload.
		{"repaired", good, pkcs11.CKR_OK},
	} {
		if err := os.WriteFile(statePath, tc.state, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := p.GetTokenInfo(0)
		wantRV(t, tc.name, err, tc.rv)
	}
	// A key that is not the certificate's is a broken card too.
	other := testUser(t, "555000333444")
	if err := os.WriteFile(filepath.Join(card.Dir(), vcard.KeyFile), testpki.KeyPEM(other.Key), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := card.Remove(); err != nil { // a new generation makes the module read the files
		t.Fatal(err)
	}
	if err := card.Insert(); err != nil {
		t.Fatal(err)
	}
	_, err = p.GetTokenInfo(0)
	wantRV(t, "mismatched key", err, pkcs11.CKR_DEVICE_ERROR)
}
