// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/host/protocol"
)

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

// releaseRefusal applies the release policy: it returns the code that
// refuses the ticket for req to c, or "" when c may have it. Both the
// machine's path and the polled requests' fast path ask it.
func (s *Settings) releaseRefusal(c *Client, req protocol.Request) protocol.Code {
	switch c.info.Kind {
	case Browser:
		if !s.Origins.Allows(req.Origin) || (req.Frame && s.FramesRefused) {
			return protocol.CodeOriginNotAllowed
		}
		return ""
	case App:
		if s.TicketAPI == nil || !s.TicketAPI(c.info.Exe) {
			return protocol.CodeTicketAPIDisabled
		}
		return ""
	}
	return protocol.CodeOriginNotAllowed
}

// identityRefusal says whether c may learn who is logged in (status, the
// result of login): a page only if its origin is allowed; the extension
// itself (no origin, or its own), the terminal and an allowed application
// always.
func (s *Settings) identityRefusal(c *Client, req protocol.Request) protocol.Code {
	switch c.info.Kind {
	case Browser:
		if req.Origin == "" || isExtensionOrigin(req.Origin) {
			return ""
		}
		return s.releaseRefusal(c, req)
	case App:
		return s.releaseRefusal(c, req)
	}
	return ""
}
