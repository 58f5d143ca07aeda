// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package pivcardtest starts the virtual PIV card stack (e2e/pivcard) for a
// test. It is apart from e2e/pivcard so that the oia-pivcard command does
// not link the testing package and the test rig.
package pivcardtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/testpki"
)

// Start starts a stack for a test, with the relay command built (or found
// in OIA_BIN) by e2e/rig. It skips the test, with the reason, when the
// stack cannot run on this machine ([pivcard.ErrUnavailable]), and stops
// the stack at the test's end, printing pcscd's log if the test failed.
func Start(tb testing.TB) *pivcard.Stack {
	tb.Helper()
	if err := pivcard.Available(); err != nil {
		tb.Skip(err)
	}
	relay, err := rig.Binary("oia-pivcard")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pivcard.Start(ctx, relay)
	if errors.Is(err, pivcard.ErrUnavailable) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("pcscd log:\n%s", s.Log())
		}
		s.Close()
	})
	return s
}

// NewCard makes a PIV card for a new user uid of pki, holding pin.
func NewCard(tb testing.TB, pki *testpki.PKI, uid, pin string) *pivcard.Card {
	tb.Helper()
	u, err := pki.IssueUser(uid, "PIV user")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := pivcard.New(u.Cert, u.Key, pin)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
