// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package vcard_test

import (
	"crypto/x509"
	"sync"
	"testing"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
)

const testPIN = "123456"

var (
	pkiOnce sync.Once
	pki     *testpki.PKI
	pkiErr  error
)

// testPKI is one PKI for the whole test binary: making one costs two RSA
// keys.
func testPKI(t testing.TB) *testpki.PKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = testpki.New() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

var (
	usersMu sync.Mutex
	users   = map[string]*testpki.User{}
)

// testUser issues a user once per test binary: every card made for uid
// shares its key, which saves an RSA key generation per card.
func testUser(t testing.TB, uid string) *testpki.User {
	t.Helper()
	usersMu.Lock()
	defer usersMu.Unlock()
	if u, ok := users[uid]; ok {
		return u
	}
	u, err := testPKI(t).IssueUser(uid, "User "+uid)
	if err != nil {
		t.Fatal(err)
	}
	users[uid] = u
	return u
}

// newCard makes a card in a temporary directory with the shared PKI and,
// unless opts names a user, the shared default user.
func newCard(t testing.TB, opts vcard.InitOptions) *vcard.Card {
	t.Helper()
	if opts.PIN == "" {
		opts.PIN = testPIN
	}
	opts.PKI = testPKI(t)
	if opts.User == nil && opts.UID == "" && opts.Name == "" {
		opts.User = testUser(t, vcard.DefaultUID)
	}
	c, err := vcard.Init(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certOf(t *testing.T, card *vcard.Card) *x509.Certificate {
	t.Helper()
	c, err := card.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func status(t *testing.T, card *vcard.Card) vcard.Status {
	t.Helper()
	s, err := card.Status()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
