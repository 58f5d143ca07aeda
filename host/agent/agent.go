// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package agent assembles the host from its configuration: the broker
// client, the PKCS#11 modules and their watcher, the signer of the
// challenge, and the login machine that drives them. oia-host and `oia
// login` both run what [Assemble] builds, so the terminal login is the same
// flow as the browser's.
package agent

import (
	"context"
	"crypto"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/login"
	"github.com/openidentityagent/oia/host/protocol"
)

// Agent is an assembled host: the login machine and the card watcher that
// feeds it.
type Agent struct {
	// Machine is the login machine; run it with [login.Machine.Run].
	Machine *login.Machine
	watcher *card.Watcher
	log     logrus.FieldLogger
	primed  chan struct{}
	cfg     *config.Config // New's, for the Ticket API's policy
}

// Primed is closed once the card readers have been polled for the first
// time and what they hold has been handed to the machine. A request read
// after it sees the card that was in the reader when the host started; one
// read before it would find no card yet.
func (a *Agent) Primed() <-chan struct{} { return a.primed }

// primeWait bounds how long requests wait for the first look at the card
// readers: a module that hangs must not hold the host up for more.
const primeWait = 3 * time.Second

// Ready is closed once the readers are primed, or after primeWait (logged),
// or when ctx ends: requests wait for it, so that a page that asks as the
// host starts finds the card that is in the reader.
func (a *Agent) Ready(ctx context.Context) <-chan struct{} {
	ready := make(chan struct{})
	go func() {
		select {
		case <-a.primed:
		case <-time.After(primeWait):
			a.log.Warn("the card readers did not answer within 3 s; serving anyway")
		case <-ctx.Done():
		}
		close(ready)
	}()
	return ready
}

// Watch polls the card readers until ctx ends, handing each card inserted,
// removed or swapped to the machine. Run it on a goroutine of its own.
func (a *Agent) Watch(ctx context.Context) {
	feed := func(ev card.Event) {
		a.log.WithFields(logrus.Fields{"event": ev.Kind.String(), "token": ev.Token.String()}).Info("card")
		a.Machine.CardEvent(ev)
	}
	for _, ev := range a.watcher.Poll() {
		feed(ev)
	}
	close(a.primed)
	events := make(chan card.Event, 16)
	go a.watcher.Run(ctx, events)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			feed(ev)
		}
	}
}

// Assemble builds the login machine and the card watcher from the
// configuration, as oia-host runs them. notify receives the machine's
// events.
func Assemble(cfg *config.Config, log *logrus.Logger, notify func(protocol.Event)) (*Agent, error) {
	return assemble(cfg, log, notify, false)
}

// New builds the per-desktop agent: the machine serves the clients that
// attach through [Agent.Serve] and no built-in one.
func New(cfg *config.Config, log *logrus.Logger) (*Agent, error) {
	a, err := assemble(cfg, log, nil, true)
	if err == nil {
		a.cfg = cfg
	}
	return a, err
}

func assemble(cfg *config.Config, log *logrus.Logger, notify func(protocol.Event), shared bool) (*Agent, error) {
	base, err := cfg.BrokerBaseURL()
	if err != nil {
		return nil, err
	}
	bc, err := broker.New(broker.Options{
		BaseURL:   base,
		CABundle:  cfg.CABundle,
		UserAgent: cfg.UserAgent,
		Timeout:   cfg.BrokerTimeout(),
		DeviceID:  deviceIDOf(machineID()),
		Log: func(e broker.LogEvent) {
			f := logrus.Fields{"op": e.Op, "attempt": e.Attempt, "method": e.Method, "host": e.Host,
				"status": e.Status, "bytes": e.Bytes, "fields": e.Fields, "ms": e.Duration.Milliseconds()}
			if e.Err != nil {
				f["error"] = e.Err.Error() // broker errors carry no secret (docs/broker.md)
			}
			log.WithFields(f).Debug("broker call")
		},
	})
	if err != nil {
		return nil, err
	}
	var modules []*card.Module
	for _, path := range cfg.PKCS11Modules {
		if cfg.DefaultModules {
			if _, err := os.Stat(path); err != nil {
				continue // a default module that is not installed
			}
		}
		mod, err := card.Open(path)
		if err != nil {
			log.WithError(err).WithField("module", path).Error("cannot load the PKCS#11 module")
			continue
		}
		modules = append(modules, mod)
	}
	if len(modules) == 0 {
		log.Warn("no PKCS#11 module loaded: no card can be seen; run 'oia doctor'")
	}
	hash := crypto.SHA1
	if cfg.SignatureHash == "sha256" {
		hash = crypto.SHA256
	}
	locked := map[string]bool{}
	for _, k := range []string{"promptOnCardInsert", "pinTimeoutSeconds"} {
		locked[k] = cfg.Locked[k]
	}
	m := login.New(login.Deps{
		Cards:  cardOpener{},
		Broker: bc,
		Sign: func(challenge []byte, id card.Identity, signer crypto.Signer) (string, error) {
			der, err := cms.Sign(challenge, id.Cert, signer, hash)
			if err != nil {
				return "", err
			}
			return cms.WrapResponse(der), nil
		},
		Log:    log,
		Notify: notify,
	}, login.Settings{
		Origins:            cfg.Origins(),
		PromptOnCardInsert: cfg.PromptOnCardInsert,
		PINTimeout:         cfg.PINTimeout(),
		Locked:             locked,
		Version:            oia.Version,
		FramesRefused:      !cfg.FrameRequestAllowed(true),
		TicketAPI:          cfg.TicketAPIAllowed,
		Shared:             shared,
	})
	return &Agent{Machine: m, watcher: card.NewWatcher(modules, cfg.CardPollInterval()), log: log, primed: make(chan struct{})}, nil
}

// cardOpener opens sessions with host/card.
type cardOpener struct{}

func (cardOpener) Open(t card.Token) (login.CardSession, error) {
	s, err := card.OpenSession(t)
	if err != nil {
		return nil, err
	}
	return s, nil
}
