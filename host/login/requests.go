// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"time"

	"github.com/openidentityagent/oia/host/card"
	"github.com/openidentityagent/oia/host/protocol"
)

// Handle queues a request from the machine's one built-in client: a
// browser client for a process that serves a single extension (tests, and
// callers that need no other client), whose events reach Deps.Notify only.
// It is [Client.Handle] for that client.
func (m *Machine) Handle(req protocol.Request, reply func(protocol.Result)) {
	m.handleFrom(m.solo, req, reply)
}

// handleFrom queues a request from c. reply is called exactly once, on
// the machine's goroutine, possibly much later (a getTicket waits for the
// login it starts). It blocks while the machine's queue is full.
//
// The polled requests, status and getTicketNoAuth, are answered at once on
// the caller's goroutine from the machine's last published snapshot when no
// earlier request is still queued: legacy pages poll, and this saves each
// poll a trip through the machine's goroutine.
func (m *Machine) handleFrom(c *Client, req protocol.Request, reply func(protocol.Result)) {
	if (req.Type == protocol.ReqStatus || req.Type == protocol.ReqGetTicketNoAuth) && m.inflight.Load() == 0 {
		reply(m.snap.Load().answer(c, req, &m.set))
		return
	}
	m.inflight.Add(1)
	held := func(res protocol.Result) { m.replies = append(m.replies, func() { reply(res) }) }
	m.loop <- item{f: func() {
		if c.gone {
			return // its connection closed while the request was queued
		}
		m.handle(c, req, held)
	}, request: true}
}

// snapshot is the machine's state as the polled requests see it. It is
// immutable once published.
type snapshot struct {
	state   protocol.State
	card    protocol.Card
	pin     *protocol.PINPrompt
	session protocol.Session
	ticket  string // only when logged in
	// prompter is the sequence number of the client asked for the
	// passcode; only it sees the prompt in status.
	prompter uint64
}

// publish records the current state for the fast path. Only the machine's
// goroutine calls it (and New, before that goroutine exists).
func (m *Machine) publish() {
	s := &snapshot{state: m.State(), card: m.cardInfo(), session: m.session()}
	if m.prompter != nil {
		s.prompter = m.prompter.seq
	}
	if s.state == protocol.StateAwaitingPIN || s.state == protocol.StateLocked {
		p := m.pinPrompt()
		s.pin = &p
	}
	if s.state == protocol.StateLoggedIn && m.bsess != nil {
		s.ticket = m.bsess.Ticket
	}
	m.snap.Store(s)
}

// answer answers status or getTicketNoAuth from the snapshot, by the
// same rules as handle (the release policy's functions are the same).
func (s *snapshot) answer(c *Client, req protocol.Request, set *Settings) protocol.Result {
	if req.Type == protocol.ReqStatus {
		if code := set.identityRefusal(c, req); code != "" {
			return protocol.Fail(req.ID, protocol.New(code))
		}
		body := protocol.StatusBody{State: s.state, Card: s.card, Session: s.session}
		if s.state == protocol.StateLocked || s.prompter == c.seq {
			body.PIN = s.pin
		}
		return protocol.OK(req.ID, body)
	}
	if code := set.releaseRefusal(c, req); code != "" {
		return protocol.Fail(req.ID, protocol.New(code))
	}
	if s.state != protocol.StateLoggedIn || s.ticket == "" {
		return protocol.Fail(req.ID, protocol.New(protocol.CodeTicketNotAvailable))
	}
	return protocol.OK(req.ID, protocol.TicketBody{Ticket: s.ticket, Session: s.session})
}

// hello answers the hello handshake of client c. The overrides from its
// browser's policy apply to that client alone (its prompts), unless the
// system configuration fixes the setting. A browser that says hello while
// a card waits unprompted, with promptOnCardInsert on, is asked for the
// passcode: the card went in while no browser was there to ask.
func (m *Machine) hello(c *Client, req protocol.Request) protocol.Result {
	if so := req.Settings; so != nil {
		if so.PromptOnCardInsert != nil {
			v := *so.PromptOnCardInsert
			c.promptOnInsert = &v
		}
		if so.PINTimeoutSeconds != nil {
			c.pinTimeout = time.Duration(*so.PINTimeoutSeconds) * time.Second
		}
	}
	if maj := protocol.Major(req.Protocol); maj != "" && maj != protocol.Major(protocol.Version) {
		return protocol.Fail(req.ID, protocol.Errorf(protocol.CodeHostVersionMismatch,
			"the extension speaks protocol %s and oia-host speaks %s: update both", req.Protocol, protocol.Version))
	}
	if m.State() == protocol.StateCardPresent && m.sess != nil && !m.prompted && len(m.waiters) == 0 &&
		c.promptable() && c.wantsInsertPrompt() {
		m.prompted = true
		m.prompter = c
		m.fire(trLogin)
	}
	body := m.helloBody(m.State())
	body.Settings.PromptOnCardInsert = c.wantsInsertPrompt()
	if c.pinTimeout > 0 && !m.set.Locked["pinTimeoutSeconds"] {
		body.Settings.PINTimeoutSeconds = int(c.pinTimeout / time.Second)
	}
	return protocol.OK(req.ID, body)
}

// HelloBody returns what the host says in its first frame: the machine's
// settings, before any client's overrides, and its last published state.
// It is safe on any goroutine.
func (m *Machine) HelloBody() protocol.HelloBody { return m.helloBody(m.Current()) }

func (m *Machine) helloBody(state protocol.State) protocol.HelloBody {
	origins := make([]string, len(m.set.Origins))
	for i, p := range m.set.Origins {
		origins[i] = p.String()
	}
	return protocol.HelloBody{
		Protocol: protocol.Version,
		Version:  m.set.Version,
		State:    state,
		Settings: protocol.Settings{
			AllowedOrigins:     origins,
			PromptOnCardInsert: m.set.PromptOnCardInsert,
			PINTimeoutSeconds:  int(m.set.PINTimeout / time.Second),
		},
	}
}

func (m *Machine) handle(c *Client, req protocol.Request, reply func(protocol.Result)) {
	fail := func(code protocol.Code) { reply(protocol.Fail(req.ID, protocol.New(code))) }
	state := m.State()
	// Only the client asked for the passcode answers the prompt.
	notPrompter := m.prompter != nil && m.prompter != c
	switch req.Type {
	case protocol.ReqHello:
		reply(m.hello(c, req))

	case protocol.ReqStatus:
		if code := m.set.identityRefusal(c, req); code != "" {
			fail(code)
			return
		}
		body := protocol.StatusBody{State: state, Card: m.cardInfo(), Session: m.session()}
		if state == protocol.StateLocked || (state == protocol.StateAwaitingPIN && m.prompter == c) {
			p := m.pinPrompt()
			body.PIN = &p
		}
		reply(protocol.OK(req.ID, body))

	case protocol.ReqGetTicketNoAuth:
		if code := m.set.releaseRefusal(c, req); code != "" {
			fail(code)
			return
		}
		if state != protocol.StateLoggedIn {
			fail(protocol.CodeTicketNotAvailable)
			return
		}
		m.answer(waiter{req, reply, c})

	case protocol.ReqGetTicket, protocol.ReqLogin, protocol.ReqGetNewTicket:
		refusal := m.set.releaseRefusal(c, req)
		if req.Type == protocol.ReqLogin {
			// the toolbar's and the terminal's own login: never given the ticket
			refusal = m.set.identityRefusal(c, req)
		}
		if refusal != "" {
			fail(refusal)
			return
		}
		if state == protocol.StateLoggedIn && req.Type != protocol.ReqGetNewTicket {
			m.answer(waiter{req, reply, c})
			return
		}
		switch state {
		case protocol.StateNoCard:
			fail(protocol.CodeCardNotPresent)
			return
		case protocol.StateLocked:
			fail(protocol.CodePINLocked)
			return
		}
		if len(m.waiters) >= m.set.MaxWaiters {
			fail(protocol.CodeBusy)
			return
		}
		m.waiters = append(m.waiters, waiter{req, reply, c})
		switch state {
		case protocol.StateLoggedIn: // getNewTicket: log out, then in again
			m.logout(protocol.ReasonNewLogin)
		case protocol.StateCardPresent:
			m.dropStale()
			switch {
			case m.sess != nil:
				m.fire(trLogin)
			case !m.probing:
				m.probe() // it starts the login when it has read the card
			}
		case protocol.StateFailed:
			m.fire(trRestart)
		}
		// In every other state a login is under way: the request shares
		// its outcome.

	case protocol.ReqDestroyTicket:
		if code := m.set.identityRefusal(c, req); code != "" {
			fail(code)
			return
		}
		switch state {
		case protocol.StateLoggedIn:
			m.destroys = append(m.destroys, waiter{req, reply, c})
			m.logout(protocol.ReasonLogout)
		case protocol.StateLoggingOut:
			m.destroys = append(m.destroys, waiter{req, reply, c})
		default:
			reply(protocol.OK(req.ID, nil)) // nothing to destroy: already the wanted outcome
		}

	case protocol.ReqPIN:
		if state != protocol.StateAwaitingPIN || m.pinStatus.PINPad || notPrompter || !c.promptable() {
			fail(protocol.CodeInvalidState)
			return
		}
		if err := card.CheckPIN(req.PIN, m.pinStatus); err != nil {
			// The card is not asked: no attempt is used, and the prompt
			// stays for the passcode in the right form.
			reply(protocol.Fail(req.ID, protocol.Errorf(protocol.CodePINInvalid, "%v: type it again", err)))
			return
		}
		m.pendingPIN = req.PIN
		reply(protocol.OK(req.ID, nil))
		m.fire(trPIN)

	case protocol.ReqCancel:
		switch state {
		case protocol.StateAwaitingPIN, protocol.StateVerifying, protocol.StateAwaitingRole:
			if notPrompter {
				fail(protocol.CodeInvalidState)
				return
			}
			reply(protocol.OK(req.ID, nil))
			m.cancelPrompt(protocol.New(protocol.CodeUserAbort))
		default:
			fail(protocol.CodeInvalidState)
		}

	case protocol.ReqSelectRole:
		if state != protocol.StateAwaitingRole || notPrompter {
			fail(protocol.CodeInvalidState)
			return
		}
		r, ok := m.bsess.Role(req.RoleID)
		if !ok {
			reply(protocol.Fail(req.ID, protocol.Errorf(protocol.CodeBadRequest, "the user holds no role %q", req.RoleID)))
			return
		}
		reply(protocol.OK(req.ID, nil))
		m.chooseRole(r)

	default:
		fail(protocol.CodeNotImplemented)
	}
}
