// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"context"
	"time"

	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card"
	"github.com/openidentityagent/oia/host/protocol"
)

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
