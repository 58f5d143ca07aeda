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
// docs/state-machine.dot, made by `make docs` from the machine itself, shows
// every transition.
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
	"strings"
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

// Triggers. Their names label the edges of docs/state-machine.dot.
const (
	trCardInserted = "cardInserted"
	trCardRemoved  = "cardRemoved"
	trCardLocked   = "cardLocked"
	trCardFailed   = "cardFailed"
	trLogin        = "login"
	trPIN          = "pin"
	trPINAccepted  = "pinAccepted"
	trPINRejected  = "pinRejected"
	trPINBlocked   = "pinBlocked"
	trPINFailed    = "pinFailed"
	trCancel       = "cancel"
	trTimeout      = "timeout"
	trRolesOffered = "rolesOffered"
	trRoleChosen   = "roleChosen"
	trLoggedIn     = "loggedIn"
	trAuthFailed   = "authFailed"
	trLogout       = "logout"
	trLoggedOut    = "loggedOut"
	trExpired      = "expired"
	trRestart      = "restart"
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

// build configures the state machine. Entry actions start workers and send
// prompts; the effects that depend on why a state was left (which error the
// waiters get) happen in the code that fires the trigger.
func (m *Machine) build() *stateless.StateMachine {
	sm := stateless.NewStateMachineWithMode(protocol.StateNoCard, stateless.FiringQueued)

	sm.Configure(protocol.StateNoCard).
		Permit(trCardInserted, protocol.StateCardPresent).
		Ignore(trCardRemoved)

	sm.Configure(protocol.StateCardPresent).
		OnEntry(m.enterCardPresent).
		Permit(trLogin, protocol.StateAwaitingPIN).
		Permit(trCardLocked, protocol.StateLocked).
		Permit(trCardFailed, protocol.StateFailed).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateAwaitingPIN).
		OnEntry(m.enterAwaitingPIN).
		OnExit(m.stopTimer).
		Permit(trPIN, protocol.StateVerifying).
		Permit(trCancel, protocol.StateCardPresent).
		Permit(trTimeout, protocol.StateCardPresent).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateVerifying).
		OnEntry(m.enterVerifying).
		OnExit(m.stopTimer).
		Permit(trPINAccepted, protocol.StateAuthenticating).
		Permit(trPINRejected, protocol.StateAwaitingPIN).
		Permit(trPINBlocked, protocol.StateLocked).
		Permit(trPINFailed, protocol.StateFailed).
		Permit(trCancel, protocol.StateCardPresent).
		Permit(trTimeout, protocol.StateCardPresent).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateAuthenticating).
		OnEntry(m.enterAuthenticating).
		Permit(trRolesOffered, protocol.StateAwaitingRole).
		Permit(trLoggedIn, protocol.StateLoggedIn).
		Permit(trAuthFailed, protocol.StateFailed).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateAwaitingRole).
		OnEntry(m.enterAwaitingRole).
		OnExit(m.stopTimer).
		Permit(trRoleChosen, protocol.StateAuthenticating).
		Permit(trCancel, protocol.StateLoggingOut).
		Permit(trTimeout, protocol.StateLoggingOut).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateLoggedIn).
		OnEntry(m.enterLoggedIn).
		OnExit(m.stopExpiry).
		Permit(trLogout, protocol.StateLoggingOut).
		Permit(trExpired, protocol.StateCardPresent).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateLoggingOut).
		OnEntry(m.enterLoggingOut).
		Permit(trLoggedOut, protocol.StateCardPresent).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateLocked).
		OnEntry(m.enterLocked).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.Configure(protocol.StateFailed).
		Permit(trRestart, protocol.StateCardPresent).
		Permit(trCardRemoved, protocol.StateNoCard)

	sm.OnTransitioned(func(_ context.Context, t stateless.Transition) {
		switch t.Destination {
		case protocol.StateAwaitingPIN, protocol.StateVerifying, protocol.StateAuthenticating, protocol.StateAwaitingRole:
		default:
			m.prompter = nil // the login flow is over: the next one chooses again
		}
		if t.Source != t.Destination {
			m.deps.Notify(protocol.Event{Name: protocol.EvState, Body: protocol.StateChange{
				State: t.Destination.(protocol.State), Previous: t.Source.(protocol.State)}})
			m.deps.Log.WithFields(logrus.Fields{"from": t.Source, "to": t.Destination, "trigger": t.Trigger}).Info("state")
		}
	})
	return sm
}

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

// CardEvent feeds a presence event from the card watcher.
func (m *Machine) CardEvent(ev card.Event) {
	m.post(func() {
		switch ev.Kind {
		case card.Inserted:
			if m.token != nil {
				return
			}
			t := ev.Token
			m.token = &t
			m.fire(trCardInserted)
		case card.Removed:
			if m.token == nil {
				return
			}
			m.removeCard(protocol.ReasonCardRemoved)
		case card.Swapped:
			m.removeCard(protocol.ReasonCardSwapped)
			t := ev.Token
			m.token = &t
			m.fire(trCardInserted)
		}
	})
}

// removeCard ends whatever was happening: the flow's workers are
// abandoned, the broker session is logged out in the background (best
// effort, bounded), waiting requests fail with CARD_REMOVED, and the
// extension is told the ticket and the card are gone.
func (m *Machine) removeCard(reason string) {
	m.endFlow()
	m.failWaiters(protocol.New(protocol.CodeCardRemoved))
	if m.bsess != nil {
		m.logoutInBackground(m.bsess)
		m.forgetSession(reason)
	}
	m.answerDestroys()
	m.closeSession()
	m.ident, m.token, m.probing, m.prompted = nil, nil, false, false
	m.pinStatus, m.lastErr, m.pendingPIN = card.PINStatus{}, "", ""
	m.deps.Notify(protocol.Event{Name: protocol.EvCardRemoved})
	m.fire(trCardRemoved)
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
	if st, ok := m.sess.(StaleSession); ok && st.Stale() {
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

func (m *Machine) enterCardPresent(ctx context.Context, _ ...any) error {
	m.dropStale()
	if m.sess == nil {
		if !m.probing {
			m.probe()
		}
		return nil
	}
	if len(m.waiters) > 0 {
		m.fire(trLogin)
	}
	return nil
}

// probe opens a session on the new card and reads whose it is and its
// passcode state: what the prompt needs.
func (m *Machine) probe() {
	m.probing = true
	tok := *m.token
	flow, _ := m.startFlow(30 * time.Second)
	go func() {
		sess, err := m.deps.Cards.Open(tok)
		var id card.Identity
		var st card.PINStatus
		if err == nil {
			id, err = sess.Identity()
		}
		if err == nil {
			st, err = sess.PINStatus()
		}
		if err != nil && sess != nil {
			_ = sess.Close()
			sess = nil
		}
		m.post(func() {
			if flow != m.flow || m.token == nil {
				if sess != nil {
					go func() { _ = sess.Close() }()
				}
				return
			}
			m.probing = false
			if err != nil {
				m.deps.Log.WithError(err).Warn("cannot read the card")
				m.fail(trCardFailed, err)
				return
			}
			m.sess, m.ident, m.pinStatus = sess, &id, st
			m.deps.Notify(protocol.Event{Name: protocol.EvCardInserted, Body: protocol.CardInserted{Card: m.cardInfo()}})
			switch {
			case st.Locked:
				m.fire(trCardLocked)
			case len(m.waiters) > 0:
				m.fire(trLogin)
			case !m.prompted && m.insertPrompter() != nil:
				m.prompted = true
				m.prompter = m.insertPrompter()
				m.fire(trLogin)
			}
		})
	}()
}

func (m *Machine) cardInfo() protocol.Card {
	c := protocol.Card{Present: m.token != nil}
	if m.token != nil {
		c.Label, c.Serial = m.token.Label, m.token.Serial
	}
	if m.ident != nil {
		c.UID = m.ident.UID
	}
	return c
}

// promptOrigin is the origin shown in prompts: the first waiting page's,
// or none when the prompt came from the card's insertion.
func (m *Machine) promptOrigin() string {
	if len(m.waiters) > 0 {
		return m.waiters[0].req.Origin
	}
	return ""
}

func (m *Machine) pinPrompt() protocol.PINPrompt {
	p := protocol.PINPrompt{
		Origin:         m.promptOrigin(),
		AttemptsLeft:   m.pinStatus.AttemptsLeft,
		FinalTry:       m.pinStatus.FinalTry,
		PINPad:         m.pinStatus.PINPad,
		TimeoutSeconds: int(m.pinTimeout() / time.Second),
		LastError:      m.lastErr,
		App:            m.promptApp(),
	}
	if m.ident != nil {
		p.UID = m.ident.UID
	}
	return p
}

func (m *Machine) enterAwaitingPIN(context.Context, ...any) error {
	if m.prompter == nil || !m.prompter.promptable() {
		m.prompter = m.pickPrompter()
	}
	if m.prompter == nil {
		m.endFlow()
		m.fail(trCancel, protocol.New(protocol.CodePromptUnavailable))
		return nil
	}
	m.startTimer(m.pinTimeout())
	m.deps.Notify(protocol.Event{Name: protocol.EvPINRequired, Body: m.pinPrompt()})
	if m.pinStatus.PINPad {
		// The passcode goes to the reader's keypad: present an empty one
		// at once, and the reader asks the user.
		m.pendingPIN = ""
		m.fire(trPIN)
	}
	return nil
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

// timeout ends a prompt nobody answered.
func (m *Machine) timeout() {
	m.timer = nil
	if !m.can(trTimeout) {
		return
	}
	m.endFlow()
	m.lastErr = ""
	// A timed-out prompt is a failed login flow (docs/protocol.md §3.4):
	// the extension hears it as an error event and closes its window, as
	// it does for every other failure.
	m.fail(trTimeout, protocol.New(protocol.CodeTimeout))
}

func (m *Machine) enterVerifying(context.Context, ...any) error {
	pin := m.pendingPIN
	m.pendingPIN = ""
	sess, prev := m.sess, m.pinStatus
	flow, _ := m.startFlow(m.pinTimeout() + 10*time.Second)
	if m.pinStatus.PINPad {
		m.startTimer(m.pinTimeout())
	}
	go func() {
		err := sess.Login(pin)
		st, ok := card.PINStatusOf(err)
		switch {
		case err == nil:
			// A correct passcode resets the card's counter: the state is
			// known without asking the card again (with OpenSC, reading
			// the token's flags is a card command).
			st = prev
			st.AttemptsLeft, st.FinalTry, st.Locked = 3, false, false
		case !ok:
			if s, e := sess.PINStatus(); e == nil {
				st = s
			}
		}
		m.post(func() {
			if flow != m.flow {
				// The flow was cancelled or timed out while the card
				// checked the passcode. If the card accepted it, log it
				// out again: a later attempt must never pass on the
				// strength of this one (CKR_USER_ALREADY_LOGGED_IN).
				if err == nil {
					go func() { _ = sess.Logout() }()
				}
				return
			}
			m.verified(err, st)
		})
	}()
	return nil
}

// verified handles the card's answer to a passcode. A passcode is never
// presented again by the machine: only a new pin request does that.
func (m *Machine) verified(err error, st card.PINStatus) {
	m.pinStatus = st
	code := protocol.CodeOf(err)
	switch {
	case err == nil:
		m.lastErr = ""
		m.fire(trPINAccepted)
	case code == protocol.CodePINLocked || (code == protocol.CodePINIncorrect && st.Locked):
		m.fail(trPINBlocked, protocol.New(protocol.CodePINLocked))
	case code == protocol.CodePINIncorrect:
		m.lastErr = protocol.CodePINIncorrect
		m.fire(trPINRejected)
	case code == protocol.CodePINInvalid && st.Locked:
		m.fail(trPINBlocked, protocol.New(protocol.CodePINLocked))
	case code == protocol.CodePINInvalid:
		// The card refused the passcode's form before checking it (its
		// length bounds changed since the prompt): no attempt was used;
		// ask again rather than end the login.
		m.lastErr = protocol.CodePINInvalid
		m.fire(trPINRejected)
	case code == protocol.CodeUserAbort:
		m.failWaiters(protocol.New(protocol.CodeUserAbort))
		m.fire(trCancel)
	default:
		m.fail(trPINFailed, err)
	}
}

// fail ends a login with err: every waiting request and the extension get
// it, and the machine moves on with trigger.
func (m *Machine) fail(trigger string, err error) {
	m.deps.Log.WithError(err).WithField("state", m.State()).Warn("login failed")
	if protocol.CodeOf(err) == protocol.CodeCardRemoved {
		// The card is still seen, but its session died (the module lost
		// its device and is re-initialised): the next request reads the
		// card again on a new session rather than failing on this one.
		m.closeSession()
	}
	origin := m.promptOrigin()
	m.failWaiters(err)
	m.deps.Notify(protocol.Event{Name: protocol.EvError, Body: protocol.ErrorEvent{Error: protocol.BodyOf(err), Origin: origin}})
	m.fire(trigger)
}

func (m *Machine) enterAuthenticating(context.Context, ...any) error {
	if m.bsess != nil {
		return nil // a role is being selected; see chooseRole
	}
	sess, id := m.sess, *m.ident
	flow, ctx := m.startFlow(m.set.AuthTimeout)
	go func() {
		bs, err := m.authenticate(ctx, sess, id)
		m.report(flow, func() { m.authenticated(bs, err) })
	}()
	return nil
}

// authenticate runs activate, sign and validate. The card is logged out as
// soon as the challenge is signed, so the next login needs the passcode.
func (m *Machine) authenticate(ctx context.Context, sess CardSession, id card.Identity) (*broker.Session, error) {
	ch, err := m.deps.Broker.Activate(ctx)
	if err != nil {
		_ = sess.Logout()
		return nil, err
	}
	signer, err := sess.Signer()
	var response string
	if err == nil {
		response, err = m.deps.Sign(ch.Data, id, signer)
	}
	_ = sess.Logout()
	if err != nil {
		return nil, err
	}
	return m.deps.Broker.Validate(ctx, ch, id.UID, response)
}

func (m *Machine) authenticated(bs *broker.Session, err error) {
	if err != nil {
		m.fail(trAuthFailed, err)
		return
	}
	switch len(bs.Roles) {
	case 0:
		// A ticket exists at the broker but there is nothing to act as:
		// end it rather than leave a session no page can use.
		m.logoutInBackground(bs)
		m.fail(trAuthFailed, protocol.Errorf(protocol.CodeRoleSelectionFailed,
			"the broker lists no role for this user: contact your registration authority"))
		return
	}
	m.bsess = bs
	switch len(bs.Roles) {
	case 1:
		m.chooseRole(bs.Roles[0])
	default:
		m.fire(trRolesOffered)
	}
}

func (m *Machine) enterAwaitingRole(context.Context, ...any) error {
	if m.prompter == nil || !m.prompter.promptable() {
		m.prompter = m.pickPrompter()
	}
	if m.prompter == nil {
		m.failWaiters(protocol.New(protocol.CodePromptUnavailable))
		m.afterOut = protocol.ReasonLogout
		m.fire(trCancel)
		return nil
	}
	m.startTimer(m.pinTimeout())
	m.deps.Notify(protocol.Event{Name: protocol.EvRoleRequired, Body: m.rolePrompt()})
	return nil
}

func (m *Machine) rolePrompt() protocol.RolePrompt {
	roles := make([]protocol.Role, len(m.bsess.Roles))
	for i, r := range m.bsess.Roles {
		roles[i] = roleOf(r)
	}
	return protocol.RolePrompt{Origin: m.promptOrigin(), User: m.user(), Roles: roles,
		TimeoutSeconds: int(m.pinTimeout() / time.Second), App: m.promptApp()}
}

// repeatPrompt asks the new prompter what the old one was asked.
func (m *Machine) repeatPrompt() {
	switch m.State() {
	case protocol.StateAwaitingPIN:
		m.deps.Notify(protocol.Event{Name: protocol.EvPINRequired, Body: m.pinPrompt()})
	case protocol.StateAwaitingRole:
		m.deps.Notify(protocol.Event{Name: protocol.EvRoleRequired, Body: m.rolePrompt()})
	}
}

// cancelPrompt ends the passcode or role prompt with err for every waiting
// request, as the prompter's cancel does.
func (m *Machine) cancelPrompt(err error) {
	switch m.State() {
	case protocol.StateAwaitingPIN, protocol.StateVerifying:
		m.endFlow()
		m.failWaiters(err)
		m.lastErr = ""
		m.fire(trCancel)
	case protocol.StateAwaitingRole:
		m.failWaiters(err)
		m.afterOut = protocol.ReasonLogout
		m.fire(trCancel)
	}
}

// chooseRole sends the role to the broker; in state authenticating.
func (m *Machine) chooseRole(r broker.Role) {
	bs := m.bsess
	flow, ctx := m.startFlow(m.set.AuthTimeout)
	if m.State() == protocol.StateAwaitingRole {
		m.fire(trRoleChosen)
	}
	go func() {
		err := m.deps.Broker.SelectRole(ctx, bs.Ticket, r.ID)
		m.report(flow, func() {
			if err != nil {
				m.logoutInBackground(bs)
				m.bsess = nil
				m.fail(trAuthFailed, err)
				return
			}
			role := r
			m.role = &role
			m.fire(trLoggedIn)
		})
	}()
}

func roleOf(r broker.Role) protocol.Role {
	return protocol.Role{ID: r.ID, OrgCode: r.OrgCode, Name: r.Name, OrgName: r.OrgName, JobRole: r.JobRole}
}

func (m *Machine) user() protocol.User {
	u := protocol.User{}
	if m.bsess != nil {
		u.UID, u.Name = m.bsess.UID, m.bsess.Name
	}
	if u.UID == "" && m.ident != nil {
		u.UID = m.ident.UID
	}
	return u
}

// session returns the logged-in session without its ticket.
func (m *Machine) session() protocol.Session {
	if m.bsess == nil {
		return protocol.Session{}
	}
	u := m.user()
	s := protocol.Session{User: &u}
	if m.role != nil {
		r := roleOf(*m.role)
		s.Role = &r
	}
	if exp := m.bsess.ExpiresAt(); !exp.IsZero() {
		e := exp.UTC().Truncate(time.Second)
		s.ExpiresAt = &e
	}
	return s
}

func (m *Machine) enterLoggedIn(context.Context, ...any) error {
	m.endFlow()
	m.deps.Notify(protocol.Event{Name: protocol.EvLoggedIn, Body: m.session()})
	ws := m.waiters
	m.waiters = nil
	for _, w := range ws {
		m.answer(w)
	}
	if exp := m.bsess.ExpiresAt(); !exp.IsZero() {
		flow := m.flow
		m.expiry = m.deps.Clock.AfterFunc(exp.Sub(m.deps.Clock.Now()), func() {
			m.report(flow, m.expire)
		})
	}
	return nil
}

// expire forgets a session the broker has ended by its session time.
func (m *Machine) expire() {
	m.expiry = nil
	if m.State() != protocol.StateLoggedIn {
		return
	}
	m.forgetSession(protocol.ReasonExpired)
	m.fire(trExpired)
}

// forgetSession drops the ticket and tells the extension.
func (m *Machine) forgetSession(reason string) {
	m.bsess, m.role = nil, nil
	m.deps.Notify(protocol.Event{Name: protocol.EvTicketDestroyed, Body: protocol.TicketDestroyed{Reason: reason}})
}

// logout starts a broker logout from loggedIn (destroyTicket, getNewTicket)
// or awaitingRole (cancel, timeout).
func (m *Machine) logout(reason string) {
	m.afterOut = reason
	m.fire(trLogout)
}

func (m *Machine) enterLoggingOut(context.Context, ...any) error {
	bs := m.bsess
	reason := m.afterOut
	if reason == "" {
		reason = protocol.ReasonLogout
	}
	m.forgetSession(reason)
	flow, ctx := m.startFlow(m.set.LogoutTimeout)
	go func() {
		err := m.deps.Broker.Logout(ctx, bs)
		m.report(flow, func() {
			if err != nil {
				m.deps.Log.WithError(err).Warn("broker logout failed; the session ends when it expires")
			}
			m.afterOut = ""
			m.answerDestroys()
			m.fire(trLoggedOut)
		})
	}()
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

func (m *Machine) answerDestroys() {
	ds := m.destroys
	m.destroys = nil
	for _, w := range ds {
		w.reply(protocol.OK(w.req.ID, nil))
	}
}

func (m *Machine) enterLocked(context.Context, ...any) error {
	m.endFlow()
	m.failWaiters(protocol.New(protocol.CodePINLocked))
	m.deps.Notify(protocol.Event{Name: protocol.EvPINRequired, Body: m.pinPrompt()})
	return nil
}

// failWaiters answers every waiting request with err.
func (m *Machine) failWaiters(err error) {
	ws := m.waiters
	m.waiters = nil
	for _, w := range ws {
		w.reply(protocol.Fail(w.req.ID, err))
	}
}

// answer releases the session to a waiting request: the ticket only for the
// ticket requests, and only where the release policy allows it.
func (m *Machine) answer(w waiter) {
	switch w.req.Type {
	case protocol.ReqLogin:
		w.reply(protocol.OK(w.req.ID, m.session()))
	default:
		if code := m.set.releaseRefusal(w.client, w.req); code != "" {
			w.reply(protocol.Fail(w.req.ID, protocol.New(code)))
			return
		}
		if w.client.info.Kind == App {
			m.deps.Log.WithFields(logrus.Fields{"app": w.client.info.Exe, "pid": w.client.info.PID, "request": string(w.req.Type)}).Info("ticket released to a desktop application")
		}
		w.reply(protocol.OK(w.req.ID, protocol.TicketBody{Ticket: m.bsess.Ticket, Session: m.session()}))
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

// isExtensionOrigin reports whether origin is an extension's own page (the
// toolbar popup), which may log in and out but never receive the ticket.
func isExtensionOrigin(o string) bool {
	return strings.HasPrefix(o, "chrome-extension://") || strings.HasPrefix(o, "moz-extension://")
}

// Session returns the current ticket and session, and whether one exists.
// It is for callers in the same process (`oia login --show-ticket`), never
// for the native-messaging protocol, whose ticket releases are checked by
// origin. It waits for the machine's goroutine, so Run must be running.
func (m *Machine) Session() (ticket string, s protocol.Session, ok bool) {
	done := make(chan struct{})
	m.post(func() {
		defer close(done)
		if m.State() == protocol.StateLoggedIn && m.bsess != nil {
			ticket, s, ok = m.bsess.Ticket, m.session(), true
		}
	})
	<-done
	return ticket, s, ok
}
