// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"testing"

	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/pivcard/pivcardtest"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/protocol"
)

// testCard is the card in the reader the host watches, as a test handles
// it. Two chains stand behind it (cardChains): our PKCS#11 module with its
// virtual card, and what a trust's Linux desktop has, OpenSC over pcscd
// with a card that answers APDUs (the virtual PIV card, e2e/pivcard).
type testCard interface {
	Insert() error
	Remove() error
	// SwapForAnother takes the card out and puts another holder's in.
	SwapForAnother() error
	// Counter is the passcode counter the card itself holds, and whether
	// it is locked.
	Counter() (left int, locked bool, err error)
	// Verifies counts the passcode checks that reached the card; counted
	// is false where the card keeps no count.
	Verifies() (n int, counted bool)
}

// cardChain starts a login rig whose card sits behind one chain.
type cardChain struct {
	name  string
	start func(t *testing.T) *loginRig
	// swapReason is why a swapped card ends the session: our module
	// swaps between two polls, so the host sees the new card in place
	// of the old; pcscd polls the reader and reports the empty slot
	// between, so the host sees the old card leave first.
	swapReason string
}

// cardChains are the chains the host's card tests run through.
var cardChains = []cardChain{
	{"module", func(t *testing.T) *loginRig {
		r := rig.New(t, rig.Options{})
		return &loginRig{Rig: r, card: moduleCard{r.Card, r.Sim.PKI()}}
	}, protocol.ReasonCardSwapped},
	{"opensc", newOpenSCRig, protocol.ReasonCardRemoved},
}

// forEachChain runs test once per chain, as a subtest named for it.
func forEachChain(t *testing.T, test func(t *testing.T, c cardChain, r *loginRig)) {
	for _, c := range cardChains {
		t.Run(c.name, func(t *testing.T) { test(t, c, c.start(t)) })
	}
}

// moduleCard is the virtual card of our module (e2e/vcard).
type moduleCard struct {
	*vcard.Card
	pki *testpki.PKI
}

func (c moduleCard) SwapForAnother() error { return c.Swap(vcard.SwapOptions{PKI: c.pki}) }

func (c moduleCard) Verifies() (int, bool) { return 0, false }

func (c moduleCard) Counter() (int, bool, error) {
	st, err := c.Status()
	return st.AttemptsLeft, st.Locked, err
}

// pivCard is the virtual PIV card in the private pcscd's reader.
type pivCard struct {
	stack *pivcard.Stack
	card  *pivcard.Card
	other func() *pivcard.Card
}

func (c pivCard) Insert() error { c.stack.Reader.Insert(c.card); return nil }
func (c pivCard) Remove() error { c.stack.Reader.Remove(); return nil }

func (c pivCard) SwapForAnother() error { c.stack.Reader.Swap(c.other()); return nil }

func (c pivCard) Verifies() (int, bool) { return c.card.Verifies(), true }

func (c pivCard) Counter() (int, bool, error) {
	n := c.card.TriesLeft()
	return n, n == 0, nil
}

// newOpenSCRig is a rig whose host reads the card through OpenSC's module
// and a private pcscd (skipped, with the reason, where the stack cannot
// run). The PIV card holds the rig's card holder's certificate and key, so
// the simulator knows its user; it is inserted.
func newOpenSCRig(t *testing.T) *loginRig {
	t.Helper()
	s := pivcardtest.Start(t)
	r := rig.New(t, rig.Options{})
	u, err := rig.SharedUser(rig.UID, rig.Name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pivcard.New(u.Cert, u.Key, r.PIN)
	if err != nil {
		t.Fatal(err)
	}
	r.Config["pkcs11Modules"] = []string{s.Module}
	card := pivCard{stack: s, card: c, other: func() *pivcard.Card {
		return pivcardtest.NewCard(t, r.Sim.PKI(), "555000999888", r.PIN)
	}}
	if err := card.Insert(); err != nil {
		t.Fatal(err)
	}
	return &loginRig{Rig: r, card: card, env: s.Env()}
}
