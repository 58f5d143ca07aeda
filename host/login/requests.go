// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"time"

	"github.com/openidentityagent/oia/host/origin"
	"github.com/openidentityagent/oia/host/protocol"
)

// Handle queues a request from the extension. reply is called exactly once,
// on the machine's goroutine, possibly much later (a getTicket waits for
// the login it starts). Handle blocks while the machine's queue is full.
//
// The polled requests, status and getTicketNoAuth, are answered at once on
// the caller's goroutine from the machine's last published snapshot when no
// earlier request is still queued: legacy pages poll, and this saves each
// poll a trip through the machine's goroutine.
func (m *Machine) Handle(req protocol.Request, reply func(protocol.Result)) {
	if (req.Type == protocol.ReqStatus || req.Type == protocol.ReqGetTicketNoAuth) && m.inflight.Load() == 0 {
		reply(m.snap.Load().answer(req, m.set.Origins))
		return
	}
	m.inflight.Add(1)
	held := func(res protocol.Result) { m.replies = append(m.replies, func() { reply(res) }) }
	m.loop <- item{f: func() { m.handle(req, held) }, request: true}
}

// snapshot is the machine's state as the polled requests see it. It is
// immutable once published.
type snapshot struct {
	state   protocol.State
	card    protocol.Card
	pin     *protocol.PINPrompt
	session protocol.Session
	ticket  string // only when logged in
}

// publish records the current state for the fast path. Only the machine's
// goroutine calls it (and New, before that goroutine exists).
func (m *Machine) publish() {
	s := &snapshot{state: m.State(), card: m.cardInfo(), session: m.session()}
	if s.state == protocol.StateAwaitingPIN || s.state == protocol.StateLocked {
		p := m.pinPrompt()
		s.pin = &p
	}
	if s.state == protocol.StateLoggedIn && m.bsess != nil {
		s.ticket = m.bsess.Ticket
	}
	m.snap.Store(s)
}

// answer answers status or getTicketNoAuth from the snapshot, by the same
// rules as handle.
func (s *snapshot) answer(req protocol.Request, origins origin.List) protocol.Result {
	if req.Type == protocol.ReqStatus {
		return protocol.OK(req.ID, protocol.StatusBody{State: s.state, Card: s.card, PIN: s.pin, Session: s.session})
	}
	if !origins.Allows(req.Origin) {
		return protocol.Fail(req.ID, protocol.New(protocol.CodeOriginNotAllowed))
	}
	if s.state != protocol.StateLoggedIn || s.ticket == "" {
		return protocol.Fail(req.ID, protocol.New(protocol.CodeTicketNotAvailable))
	}
	return protocol.OK(req.ID, protocol.TicketBody{Ticket: s.ticket, Session: s.session})
}

// Hello answers the hello handshake; it runs on the machine's goroutine via
// Handle. The overrides from browser policy apply unless the system
// configuration fixes the setting.
func (m *Machine) hello(req protocol.Request) protocol.Result {
	if so := req.Settings; so != nil {
		if so.PromptOnCardInsert != nil && !m.set.Locked["promptOnCardInsert"] {
			m.set.PromptOnCardInsert = *so.PromptOnCardInsert
		}
		if so.PINTimeoutSeconds != nil && !m.set.Locked["pinTimeoutSeconds"] {
			m.set.PINTimeout = time.Duration(*so.PINTimeoutSeconds) * time.Second
		}
	}
	if major(req.Protocol) != "" && major(req.Protocol) != major(protocol.Version) {
		return protocol.Fail(req.ID, protocol.Errorf(protocol.CodeHostVersionMismatch,
			"the extension speaks protocol %s and oia-host speaks %s: update both", req.Protocol, protocol.Version))
	}
	return protocol.OK(req.ID, m.HelloBody())
}

// HelloBody returns what the host says in its first frame. Safe only before
// Run starts or on the machine's goroutine.
func (m *Machine) HelloBody() protocol.HelloBody {
	origins := make([]string, len(m.set.Origins))
	for i, p := range m.set.Origins {
		origins[i] = p.String()
	}
	return protocol.HelloBody{
		Protocol: protocol.Version,
		Version:  m.set.Version,
		State:    m.State(),
		Settings: protocol.Settings{
			AllowedOrigins:     origins,
			PromptOnCardInsert: m.set.PromptOnCardInsert,
			PINTimeoutSeconds:  int(m.set.PINTimeout / time.Second),
		},
	}
}

func major(v string) string {
	for i := range len(v) {
		if v[i] == '.' {
			return v[:i]
		}
	}
	return v
}

func (m *Machine) handle(req protocol.Request, reply func(protocol.Result)) {
	fail := func(code protocol.Code) { reply(protocol.Fail(req.ID, protocol.New(code))) }
	state := m.State()
	switch req.Type {
	case protocol.ReqHello:
		reply(m.hello(req))

	case protocol.ReqStatus:
		body := protocol.StatusBody{State: state, Card: m.cardInfo(), Session: m.session()}
		if state == protocol.StateAwaitingPIN || state == protocol.StateLocked {
			p := m.pinPrompt()
			body.PIN = &p
		}
		reply(protocol.OK(req.ID, body))

	case protocol.ReqGetTicketNoAuth:
		if !m.set.Origins.Allows(req.Origin) {
			fail(protocol.CodeOriginNotAllowed)
			return
		}
		if state != protocol.StateLoggedIn {
			fail(protocol.CodeTicketNotAvailable)
			return
		}
		m.answer(waiter{req, reply})

	case protocol.ReqGetTicket, protocol.ReqLogin, protocol.ReqGetNewTicket:
		if req.Type == protocol.ReqLogin && isExtensionOrigin(req.Origin) {
			// the toolbar's own login: allowed, and never given the ticket
		} else if !m.set.Origins.Allows(req.Origin) {
			fail(protocol.CodeOriginNotAllowed)
			return
		}
		if state == protocol.StateLoggedIn && req.Type != protocol.ReqGetNewTicket {
			m.answer(waiter{req, reply})
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
		m.waiters = append(m.waiters, waiter{req, reply})
		switch state {
		case protocol.StateLoggedIn: // getNewTicket: log out, then in again
			m.logout(protocol.ReasonNewLogin)
		case protocol.StateCardPresent:
			if m.sess != nil {
				m.fire(trLogin)
			}
		case protocol.StateFailed:
			m.fire(trRestart)
		}
		// In every other state a login is under way: the request shares
		// its outcome.

	case protocol.ReqDestroyTicket:
		if req.Origin != "" && !isExtensionOrigin(req.Origin) && !m.set.Origins.Allows(req.Origin) {
			fail(protocol.CodeOriginNotAllowed)
			return
		}
		switch state {
		case protocol.StateLoggedIn:
			m.destroys = append(m.destroys, waiter{req, reply})
			m.logout(protocol.ReasonLogout)
		case protocol.StateLoggingOut:
			m.destroys = append(m.destroys, waiter{req, reply})
		default:
			reply(protocol.OK(req.ID, nil)) // nothing to destroy: already the wanted outcome
		}

	case protocol.ReqPIN:
		if state != protocol.StateAwaitingPIN || m.pinStatus.PINPad {
			fail(protocol.CodeInvalidState)
			return
		}
		if req.PIN == "" || (m.pinStatus.MaxLen > 0 && len(req.PIN) > m.pinStatus.MaxLen) {
			reply(protocol.Fail(req.ID, protocol.Errorf(protocol.CodePINInvalid, "the passcode must be 1 to %d characters", max(m.pinStatus.MaxLen, 1))))
			return
		}
		m.pendingPIN = req.PIN
		reply(protocol.OK(req.ID, nil))
		m.fire(trPIN)

	case protocol.ReqCancel:
		switch state {
		case protocol.StateAwaitingPIN, protocol.StateVerifying:
			m.endFlow()
			m.failWaiters(protocol.New(protocol.CodeUserAbort))
			m.lastErr = ""
			reply(protocol.OK(req.ID, nil))
			m.fire(trCancel)
		case protocol.StateAwaitingRole:
			m.failWaiters(protocol.New(protocol.CodeUserAbort))
			reply(protocol.OK(req.ID, nil))
			m.afterOut = protocol.ReasonLogout
			m.fire(trCancel)
		default:
			fail(protocol.CodeInvalidState)
		}

	case protocol.ReqSelectRole:
		if state != protocol.StateAwaitingRole {
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
