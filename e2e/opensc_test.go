// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/pivcard/pivcardtest"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// cardSlot is the reader a suite's card sits in, on either chain: our
// module's virtual card, or the virtual PIV card behind pcscd and OpenSC.
// Scenarios that only insert and remove the card use it, and so run on
// both; the others use suite.card, which only our module's card has.
type cardSlot interface {
	Insert() error
	Remove() error
	Present() (bool, error)
}

// moduleSlot is our module's virtual card.
type moduleSlot struct{ *vcard.Card }

func (c moduleSlot) Present() (bool, error) {
	st, err := c.Status()
	return st.Present, err
}

// pivSlot is the private pcscd's reader with Jane's PIV card.
type pivSlot struct {
	reader *pivcard.Reader
	card   *pivcard.Card
}

func (p pivSlot) Insert() error          { p.reader.Insert(p.card); return nil }
func (p pivSlot) Remove() error          { p.reader.Remove(); return nil }
func (p pivSlot) Present() (bool, error) { return p.reader.Card() != nil, nil }

// insertCard makes Jane's card for the suite, in the reader, on our module
// or (openSC) behind a private pcscd and OpenSC, which stop with the test;
// it returns the PKCS#11 module the host is to load.
func (s *suite) insertCard(t *testing.T, openSC bool) (string, error) {
	t.Helper()
	if !openSC {
		c, err := vcard.Init(filepath.Join(s.dir, "card"), vcard.InitOptions{PIN: janePIN, User: s.jane})
		if err != nil {
			return "", err
		}
		s.card, s.slot, s.cardEnv = c, moduleSlot{c}, []string{c.Env()}
		return vcard.ModulePath(t), nil
	}
	stack := pivcardtest.Start(t)
	c, err := pivcard.New(s.jane.Cert, s.jane.Key, janePIN)
	if err != nil {
		return "", err
	}
	s.slot, s.cardEnv = pivSlot{stack.Reader, c}, stack.Env()
	return stack.Module, s.slot.Insert()
}

// openSCScenarios run through OpenSC as well: the ones that need only a
// card to put in and take out.
var openSCScenarios = []scenario{
	{"full-login", fullLogin},
	{"card-removed", cardRemoved},
}

// TestE2EOpenSC runs the full login and the card's removal in Chromium and
// Firefox ESR with the card behind the chain a trust's Linux desktop has:
// OpenSC's PKCS#11 module, pcscd and a reader (vsmartcard's virtual one)
// with a card that answers APDUs (the virtual PIV card, e2e/pivcard). It
// skips, with the reason, where that stack cannot run.
func TestE2EOpenSC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real browsers")
	}
	r := newRig(t)
	for _, name := range []string{"chromium", "firefox"} {
		t.Run(name, func(t *testing.T) {
			s := r.launchWith(t, name, launchOptions{openSC: true})
			for _, sc := range openSCScenarios {
				t.Run(sc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
					defer cancel()
					t.Cleanup(func() { s.dumpHostLog(t) })
					sc.run(t, ctx, s, filepath.Join("out", "opensc", name, sc.name))
				})
			}
		})
	}
}
