// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package login is the host's login state machine: card, passcode, broker,
// role and ticket as one flow.
//
// # One goroutine
//
// A [Machine] is owned by the goroutine that runs [Machine.Run]. Everything
// that changes it — requests from the extension, card presence events from
// the watcher, timers, and the results of worker goroutines — is posted to
// that goroutine as a closure and runs there in order, so the
// qmuntal/stateless machine inside is only ever fired from one goroutine
// (in queued mode, a Fire made while another goroutine is firing returns nil
// at once and its trigger's error goes astray; docs/references.md,
// "stateless: queued-mode Fire"). Card I/O and HTTP run in worker
// goroutines, one flow at a time, and report back as triggers. Each worker
// carries the flow number it was started with; a result whose flow has
// ended (card removed, timed out, cancelled) is dropped.
//
// # States
//
// The states are those of docs/protocol.md §5, named by [protocol.State].
// docs/state-machine.dot, drawn by `make docs` from the transition table the machine is built from, shows
// every transition.
//
// # Files
//
// machine.go holds the loop and the flow plumbing (flows, timers, background
// logouts, shutdown); transitions.go the transition table that both the
// machine and its picture are built from; states.go what each state does on
// entry and the workers it starts; views.go what prompts and events show;
// release.go who may have the ticket; requests.go the requests; clients.go
// the attached clients and which of them is asked for the passcode.
//
// # Secrets
//
// The passcode lives only in the pin request and the worker that presents it
// to the card. The ticket lives only in the broker session and the result
// frames that release it, each after the requester's origin is checked
// against the host's allow-list. Neither is ever logged.
package login

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qmuntal/stateless"
	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card"
	"github.com/openidentityagent/oia/host/origin"
	"github.com/openidentityagent/oia/host/protocol"
)

// Settings are the machine's configuration.
type Settings struct {
	// Origins is the host's allow-list; every release of a ticket is
	// checked against it.
	Origins origin.List
	// PromptOnCardInsert asks for the passcode when a card is inserted.
	PromptOnCardInsert bool
	// PINTimeout bounds the passcode and role prompts.
	PINTimeout time.Duration
	// Locked names the settings the system configuration fixes, which a
	// browser policy (the extension's hello) may not override:
	// "promptOnCardInsert", "pinTimeoutSeconds".
	Locked map[string]bool
	// LogoutTimeout bounds the broker logout (default 5 s).
	LogoutTimeout time.Duration
	// AuthTimeout bounds activate, sign and validate together (default 60 s).
	AuthTimeout time.Duration
	// MaxWaiters bounds the ticket requests waiting on one login (default
	// 64); more get BUSY.
	MaxWaiters int
	// ShutdownTimeout bounds the broker logout when the host stops, so the
	// host exits within a second of the browser closing the port (default
	// 700 ms).
	ShutdownTimeout time.Duration
	// Version is the host's version, for the hello.
	Version string
	// FramesRefused refuses every request from a frame: the system
	// configuration locked allowFrames off.
	FramesRefused bool
	// TicketAPI says whether a desktop application running the executable
	// may have the ticket (config.Config.TicketAPIAllowed); nil refuses all.
	TicketAPI func(exe string) bool
	// Shared makes the machine the agent's: it serves attached clients
	// only, and the built-in client of [Machine.Handle] is never asked for
	// the passcode nor counted among the clients.
	Shared bool
}

// Deps are the machine's collaborators.
type Deps struct {
	Cards  Cards
	Broker Broker
	Sign   SignFunc
	Clock  Clock
	Log    logrus.FieldLogger
	// Notify observes every event the machine makes, whichever clients
	// it goes to, on the machine's goroutine; it must not block for long.
	// Clients get theirs through [Machine.Attach].
	Notify func(protocol.Event)
}

// waiter is a request waiting for a login to end.
type waiter struct {
	req    protocol.Request
	reply  func(protocol.Result)
	client *Client
}

// Machine is the login state machine. Create it with [New], run it with
// [Machine.Run], and feed it with [Machine.Handle] and [Machine.CardEvent].
type Machine struct {
	deps Deps
	set  Settings
	sm   *stateless.StateMachine
	loop chan item

	// snap is what the polled requests (status, getTicketNoAuth) are
	// answered from without a trip through the machine's goroutine; it is
	// published after every change. inflight counts the requests queued
	// for the machine's goroutine: the fast path is taken only when it is
	// zero, so a request never overtakes an earlier one from the stream.
	snap     atomic.Pointer[snapshot]
	inflight atomic.Int64
	// replies and events made during a closure, in order, sent once it
	// has ended and the snapshot shows its effect: a client that acts on a
	// reply or an event never reads the state from before it.
	replies []func()
	// clientSeq numbers the clients; solo is the client of Handle.
	clientSeq atomic.Uint64
	solo      *Client

	// Everything below is owned by the Run goroutine.
	token      *card.Token
	sess       CardSession
	ident      *card.Identity
	pinStatus  card.PINStatus
	lastErr    protocol.Code
	probing    bool
	prompted   bool // the insert-time prompt was shown for this card
	waiters    []waiter
	destroys   []waiter
	bsess      *broker.Session
	role       *broker.Role
	pendingPIN string
	flow       int
	cancelFlow context.CancelFunc
	timer      Timer
	expiry     Timer
	afterOut   string    // why we are logging out: protocol.Reason*
	clients    []*Client // in the order they attached
	prompter   *Client   // who is asked for the passcode and role now
	// logouts counts the broker logouts made in the background (card
	// removal, a new login): shutdown waits for them, so that a process
	// ending right after a card is pulled does not lose its logout.
	logouts sync.WaitGroup
}

// New builds a machine in state noCard. Deps.Clock and Deps.Log default to
// the real clock and a discarding logger.
func New(deps Deps, set Settings) *Machine {
	if deps.Clock == nil {
		deps.Clock = RealClock
	}
	if deps.Log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		deps.Log = l
	}
	if deps.Notify == nil {
		deps.Notify = func(protocol.Event) {}
	}
	if set.LogoutTimeout == 0 {
		set.LogoutTimeout = 5 * time.Second
	}
	if set.AuthTimeout == 0 {
		set.AuthTimeout = 60 * time.Second
	}
	if set.MaxWaiters == 0 {
		set.MaxWaiters = 64
	}
	if set.ShutdownTimeout == 0 {
		set.ShutdownTimeout = 700 * time.Millisecond
	}
	if set.PINTimeout == 0 {
		set.PINTimeout = 120 * time.Second
	}
	m := &Machine{deps: deps, set: set, loop: make(chan item, 256)}
	// Events are made on the machine's goroutine, inside closures: hold
	// them with the replies until the closure's change is published.
	// Each goes to the observer and to the clients it is meant for, chosen
	// when it is made.
	notify := deps.Notify
	m.deps.Notify = func(ev protocol.Event) {
		to := m.targets(ev)
		m.replies = append(m.replies, func() {
			notify(ev)
			for _, c := range to {
				c.notify(ev)
			}
		})
	}
	m.solo = &Client{m: m, seq: m.clientSeq.Add(1), info: ClientInfo{Kind: Browser, Name: "in-process"}, notify: func(protocol.Event) {}}
	if !set.Shared {
		m.clients = []*Client{m.solo}
	}
	m.sm = m.build()
	m.publish()
	return m
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Run owns the machine until ctx ends. Call it once, on its own goroutine.
func (m *Machine) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			return
		case it := <-m.loop:
			it.f()
			m.publish()
			m.flushReplies()
			if it.request {
				m.inflight.Add(-1)
			}
		}
	}
}

// flushReplies sends the replies and events held back during the last
// closure, in the order they were made.
func (m *Machine) flushReplies() {
	rs := m.replies
	m.replies = nil
	for _, r := range rs {
		r()
	}
}

// item is a closure for the machine's goroutine; request marks the ones
// Handle queued, which inflight counts.
type item struct {
	f       func()
	request bool
}

// post runs f on the machine's goroutine. It blocks while the loop's queue is
// full, which pushes back on the reader of the native-messaging stream
// rather than growing without bound.
func (m *Machine) post(f func()) { m.loop <- item{f: f} }

// Current returns the state as last published: safe on any goroutine, a
// moment behind the machine's own view.
func (m *Machine) Current() protocol.State { return m.snap.Load().state }

// State returns the current state. Only for the machine's goroutine and
// tests that have stopped it.
func (m *Machine) State() protocol.State { return m.sm.MustState().(protocol.State) }

// fire fires a trigger; an unhandled one is a bug, logged, never a crash.
func (m *Machine) fire(trigger string) {
	if err := m.sm.Fire(trigger); err != nil {
		m.deps.Log.WithFields(logrus.Fields{"trigger": trigger, "state": m.State()}).Warn("trigger not permitted here")
	}
}

// can reports whether trigger is permitted in the current state.
func (m *Machine) can(trigger string) bool {
	ok, _ := m.sm.CanFire(trigger)
	return ok
}

// startFlow begins a new unit of worker work and returns its number and
// context. Results carrying an older number are dropped.
func (m *Machine) startFlow(timeout time.Duration) (int, context.Context) {
	m.endFlow()
	m.flow++
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	m.cancelFlow = cancel
	return m.flow, ctx
}

// endFlow abandons the current worker, if any.
func (m *Machine) endFlow() {
	m.flow++
	if m.cancelFlow != nil {
		m.cancelFlow()
		m.cancelFlow = nil
	}
	m.stopTimer(context.Background())
}

// report runs f on the machine's goroutine if flow is still current.
func (m *Machine) report(flow int, f func()) {
	m.post(func() {
		if flow == m.flow {
			f()
		}
	})
}

// dropStale forgets a session that died under a card still seen, so that
// the card is read again (probe) before a passcode is asked for.
func (m *Machine) dropStale() {
	if m.sess != nil && m.sess.Stale() {
		m.deps.Log.Info("the card's session ended with its module's re-initialisation: reading the card again")
		m.closeSession()
	}
}

// closeSession forgets the card's session and closes it in the background
// (a dead module may take its time to answer).
func (m *Machine) closeSession() {
	if sess := m.sess; sess != nil {
		m.sess = nil
		go func() { _ = sess.Close() }()
	}
}

// startTimer arms the prompt timer for the current flow.
func (m *Machine) startTimer(d time.Duration) {
	m.stopTimer(context.Background())
	flow := m.flow
	m.timer = m.deps.Clock.AfterFunc(d, func() {
		m.report(flow, m.timeout)
	})
}

func (m *Machine) stopTimer(context.Context, ...any) error {
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	return nil
}

func (m *Machine) stopExpiry(context.Context, ...any) error {
	if m.expiry != nil {
		m.expiry.Stop()
		m.expiry = nil
	}
	return nil
}

// logoutInBackground logs a session out at the broker without waiting: on
// card removal, nothing must hold the machine up.
func (m *Machine) logoutInBackground(bs *broker.Session) {
	b, timeout, log := m.deps.Broker, m.set.LogoutTimeout, m.deps.Log
	m.logouts.Add(1)
	go func() {
		defer m.logouts.Done()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := b.Logout(ctx, bs); err != nil {
			log.WithError(err).Warn("broker logout after card removal failed")
		}
	}()
}

// pendingLogoutWait bounds how long shutdown waits for background logouts
// still in flight: a process that ends is waited for by its parent (the
// agent's Serve gives the machine 3 s).
const pendingLogoutWait = 2 * time.Second

// waitLogouts waits for the background logouts, at most limit; it reports
// whether they all finished.
func (m *Machine) waitLogouts(limit time.Duration) bool {
	done := make(chan struct{})
	go func() { m.logouts.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}

// shutdown ends the machine when the host stops: the broker session is
// logged out (bounded) and the card session closed.
func (m *Machine) shutdown() {
	m.endFlow()
	m.failWaiters(protocol.New(protocol.CodeHostExited))
	if m.bsess != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.set.ShutdownTimeout)
		_ = m.deps.Broker.Logout(ctx, m.bsess)
		cancel()
		m.bsess = nil
	}
	if !m.waitLogouts(pendingLogoutWait) {
		m.deps.Log.Warn("a broker logout was still in flight when the machine stopped")
	}
	if m.sess != nil {
		done := make(chan struct{})
		go func() { _ = m.sess.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
	}
	m.flushReplies()
}
