// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"time"

	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/protocol"
)

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

func (m *Machine) rolePrompt() protocol.RolePrompt {
	roles := make([]protocol.Role, len(m.bsess.Roles))
	for i, r := range m.bsess.Roles {
		roles[i] = roleOf(r)
	}
	return protocol.RolePrompt{Origin: m.promptOrigin(), User: m.user(), Roles: roles,
		TimeoutSeconds: int(m.pinTimeout() / time.Second), App: m.promptApp()}
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
