// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// The module tests load the module through miekg/pkcs11, which needs cgo.

//go:build cgo

package vcard_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/openidentityagent/oia/e2e/vcard"
)

// module loads the module for card and initializes it; it is finalized when
// the test ends. Tests that load the module cannot run in parallel: one
// process holds one instance of the module.
func module(t *testing.T, card *vcard.Card) *pkcs11.Ctx {
	t.Helper()
	t.Setenv(vcard.EnvDir, card.Dir())
	p := pkcs11.New(vcard.ModulePath(t))
	if p == nil {
		t.Fatal("pkcs11.New: cannot load the module")
	}
	if err := p.Initialize(); err != nil {
		p.Destroy()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Finalize(); err != nil {
			t.Errorf("Finalize: %v", err)
		}
		p.Destroy()
	})
	return p
}

// session opens a read-only session on the card's slot.
func session(t *testing.T, p *pkcs11.Ctx) pkcs11.SessionHandle {
	t.Helper()
	sh, err := p.OpenSession(slot(t, p), pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func slot(t *testing.T, p *pkcs11.Ctx) uint {
	t.Helper()
	slots, err := p.GetSlotList(false)
	if err != nil || len(slots) != 1 {
		t.Fatalf("GetSlotList(false) = %v, %v; want one slot", slots, err)
	}
	return slots[0]
}

// wantRV fails the test unless err is the PKCS#11 error rv (nil for CKR_OK).
func wantRV(t *testing.T, what string, err error, rv uint) {
	t.Helper()
	if rv == pkcs11.CKR_OK {
		if err != nil {
			t.Fatalf("%s: %v; want success", what, err)
		}
		return
	}
	var e pkcs11.Error
	if !errors.As(err, &e) || uint(e) != rv {
		t.Fatalf("%s: %v; want %s", what, err, pkcs11.Error(rv))
	}
}

// pinFlags keeps the passcode flags of a token's flags.
func pinFlags(t *testing.T, p *pkcs11.Ctx) uint {
	t.Helper()
	ti, err := p.GetTokenInfo(slot(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return ti.Flags & (pkcs11.CKF_USER_PIN_COUNT_LOW | pkcs11.CKF_USER_PIN_FINAL_TRY | pkcs11.CKF_USER_PIN_LOCKED)
}

// findOne finds the single object matching tmpl.
func findOne(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl ...*pkcs11.Attribute) pkcs11.ObjectHandle {
	t.Helper()
	hs := find(t, p, sh, tmpl...)
	if len(hs) != 1 {
		t.Fatalf("found %d objects; want 1", len(hs))
	}
	return hs[0]
}

func find(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl ...*pkcs11.Attribute) []pkcs11.ObjectHandle {
	t.Helper()
	if err := p.FindObjectsInit(sh, tmpl); err != nil {
		t.Fatal(err)
	}
	hs, _, err := p.FindObjects(sh, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.FindObjectsFinal(sh); err != nil {
		t.Fatal(err)
	}
	return hs
}

func privateKey(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle) pkcs11.ObjectHandle {
	t.Helper()
	return findOne(t, p, sh, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY))
}

// sign signs msg with CKM_SHA256_RSA_PKCS; the error is the module's.
func sign(p *pkcs11.Ctx, sh pkcs11.SessionHandle, key pkcs11.ObjectHandle, msg []byte) ([]byte, error) {
	if err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}, key); err != nil {
		return nil, err
	}
	return p.Sign(sh, msg)
}

// verify checks a PKCS#1 v1.5 signature over msg against the certificate.
func verify(t *testing.T, cert *x509.Certificate, h crypto.Hash, msg, sig []byte) {
	t.Helper()
	var digest []byte
	switch h {
	case crypto.SHA1:
		d := sha1.Sum(msg)
		digest = d[:]
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), h, digest, sig); err != nil {
		t.Fatalf("signature does not verify against the card's certificate: %v", err)
	}
}
