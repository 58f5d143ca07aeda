// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"context"
	"crypto"
	"time"

	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card"
)

// CardSession is an open session on one card: what the machine needs of
// host/card's *Session. Its calls may block on card I/O or a PIN pad, so the
// machine makes them only from worker goroutines, one flow at a time; Stale
// alone asks the card nothing and is called from the machine's goroutine.
type CardSession interface {
	Identity() (card.Identity, error)
	PINStatus() (card.PINStatus, error)
	// Login presents the passcode ("" on a PIN pad reader). A wrong
	// passcode's error carries the passcode state after the attempt
	// (card.PINStatusOf).
	Login(pin string) error
	Signer() (crypto.Signer, error)
	Logout() error
	Close() error
	// Stale reports, without a card command, that the session died under
	// a card still in the reader (its module was re-initialised after
	// losing its device). The machine then reads the card again before it
	// asks for a passcode, rather than after.
	Stale() bool
}

// Cards opens sessions on inserted cards.
type Cards interface {
	Open(t card.Token) (CardSession, error)
}

// Broker is the Spine Security Broker: what the machine needs of
// host/broker's *Client.
type Broker interface {
	Activate(ctx context.Context) (*broker.Challenge, error)
	Validate(ctx context.Context, ch *broker.Challenge, uid, response string) (*broker.Session, error)
	SelectRole(ctx context.Context, ticket, roleID string) error
	Logout(ctx context.Context, s *broker.Session) error
}

var _ Broker = (*broker.Client)(nil)

// SignFunc signs the broker's challenge with the card's key and returns the
// authvalidate response (the wrapped CMS of docs/references.md,
// "Broker: CMS profile").
type SignFunc func(challenge []byte, id card.Identity, signer crypto.Signer) (string, error)

// Clock gives the time and timers; tests inject a fake one.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer made by a Clock.
type Timer interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// RealClock is the system clock.
var RealClock Clock = realClock{}
