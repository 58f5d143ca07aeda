// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"context"

	"github.com/qmuntal/stateless"
	"github.com/sirupsen/logrus"

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

// A stateSpec is one state of the machine: what it does on entry and on
// exit, and where each trigger takes it. The machine is configured from
// [transitions], and its picture ([Graph]) is drawn from the same table.
type stateSpec struct {
	state   protocol.State
	onEntry func(*Machine, context.Context, ...any) error
	onExit  func(*Machine, context.Context, ...any) error
	permit  []edge
	// ignore lists the triggers that may come in this state and change
	// nothing.
	ignore []string
}

// An edge is a trigger and the state it leads to.
type edge struct {
	trigger string
	to      protocol.State
}

// initialState is where every machine starts: no card seen yet.
const initialState = protocol.StateNoCard

// transitions is the machine's whole transition table, one entry a state
// of docs/protocol.md §5. Entry actions start workers and send prompts; the
// effects that depend on why a state was left (which error the waiters get)
// happen in the code that fires the trigger. A card's removal leads every
// state that has a card to noCard.
var transitions = []stateSpec{
	{
		state:  protocol.StateNoCard,
		permit: []edge{{trCardInserted, protocol.StateCardPresent}},
		ignore: []string{trCardRemoved},
	},
	{
		state:   protocol.StateCardPresent,
		onEntry: (*Machine).enterCardPresent,
		permit: []edge{
			{trLogin, protocol.StateAwaitingPIN},
			{trCardLocked, protocol.StateLocked},
			{trCardFailed, protocol.StateFailed},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateAwaitingPIN,
		onEntry: (*Machine).enterAwaitingPIN,
		onExit:  (*Machine).stopTimer,
		permit: []edge{
			{trPIN, protocol.StateVerifying},
			{trCancel, protocol.StateCardPresent},
			{trTimeout, protocol.StateCardPresent},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateVerifying,
		onEntry: (*Machine).enterVerifying,
		onExit:  (*Machine).stopTimer,
		permit: []edge{
			{trPINAccepted, protocol.StateAuthenticating},
			{trPINRejected, protocol.StateAwaitingPIN},
			{trPINBlocked, protocol.StateLocked},
			{trPINFailed, protocol.StateFailed},
			{trCancel, protocol.StateCardPresent},
			{trTimeout, protocol.StateCardPresent},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateAuthenticating,
		onEntry: (*Machine).enterAuthenticating,
		permit: []edge{
			{trRolesOffered, protocol.StateAwaitingRole},
			{trLoggedIn, protocol.StateLoggedIn},
			{trAuthFailed, protocol.StateFailed},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateAwaitingRole,
		onEntry: (*Machine).enterAwaitingRole,
		onExit:  (*Machine).stopTimer,
		permit: []edge{
			{trRoleChosen, protocol.StateAuthenticating},
			{trCancel, protocol.StateLoggingOut},
			{trTimeout, protocol.StateLoggingOut},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateLoggedIn,
		onEntry: (*Machine).enterLoggedIn,
		onExit:  (*Machine).stopExpiry,
		permit: []edge{
			{trLogout, protocol.StateLoggingOut},
			{trExpired, protocol.StateCardPresent},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateLoggingOut,
		onEntry: (*Machine).enterLoggingOut,
		permit: []edge{
			{trLoggedOut, protocol.StateCardPresent},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
	{
		state:   protocol.StateLocked,
		onEntry: (*Machine).enterLocked,
		permit:  []edge{{trCardRemoved, protocol.StateNoCard}},
	},
	{
		state: protocol.StateFailed,
		permit: []edge{
			{trRestart, protocol.StateCardPresent},
			{trCardRemoved, protocol.StateNoCard},
		},
	},
}

// build configures the library's state machine from [transitions], in
// queued mode (see the package doc), and publishes every change of state as
// an event.
func (m *Machine) build() *stateless.StateMachine {
	sm := stateless.NewStateMachineWithMode(initialState, stateless.FiringQueued)
	bind := func(f func(*Machine, context.Context, ...any) error) func(context.Context, ...any) error {
		return func(ctx context.Context, args ...any) error { return f(m, ctx, args...) }
	}
	for _, s := range transitions {
		c := sm.Configure(s.state)
		if s.onEntry != nil {
			c.OnEntry(bind(s.onEntry))
		}
		if s.onExit != nil {
			c.OnExit(bind(s.onExit))
		}
		for _, e := range s.permit {
			c.Permit(e.trigger, e.to)
		}
		for _, t := range s.ignore {
			c.Ignore(t)
		}
	}
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
