// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/openidentityagent/oia/host/protocol"
)

// ClientKind says what is at the other end of a [Client], which decides
// what it may ask and what it may be given.
type ClientKind int

// The kinds of client.
const (
	// Browser is an extension, through its relay: requests carry the
	// page's origin (the browser's sender), checked against the allow-list
	// before any ticket or identity leaves the machine.
	Browser ClientKind = iota
	// Terminal is the oia command: it may log in and out, answer prompts
	// and read the status, and is never given the ticket.
	Terminal
	// App is a desktop application through the Ticket API (or `oia
	// ticket`): it gets the ticket only where the system configuration
	// turned the Ticket API on for it.
	App
)

func (k ClientKind) String() string {
	switch k {
	case Browser:
		return "browser"
	case Terminal:
		return "terminal"
	case App:
		return "app"
	}
	return "unknown"
}

// ClientInfo describes a client, from what the operating system says
// about it (PID, Exe) and what its relay was told by the browser (Name).
type ClientInfo struct {
	Kind ClientKind
	// Name is the caller as the browser named it (the extension id) for a
	// Browser, "oia" for a Terminal, the executable's file name for an App.
	Name string
	// PID and Exe are the peer process, from the endpoint's credentials.
	PID int
	Exe string
}

// Client is one connection to the machine: a browser's relay, the oia
// command, a desktop application. Clients share the card's session; each
// has its own event subscription and its own hello overrides.
type Client struct {
	m      *Machine
	seq    uint64
	info   ClientInfo
	notify func(protocol.Event)

	// Owned by the machine's goroutine.
	promptOnInsert *bool
	pinTimeout     time.Duration
	gone           bool
}

// Attach adds a client. notify receives the events meant for it (every
// broadcast event, and the prompts when it is the one asked), on the
// machine's goroutine; it must not block for long. A nil notify subscribes
// to nothing. Attach may be called before Run starts.
func (m *Machine) Attach(info ClientInfo, notify func(protocol.Event)) *Client {
	c := m.newClient(info, notify)
	m.post(func() { m.clients = append(m.clients, c) })
	return c
}

func (m *Machine) newClient(info ClientInfo, notify func(protocol.Event)) *Client {
	return &Client{m: m, seq: m.clientSeq.Add(1), info: info, notify: notify}
}

// AttachHello is [Machine.Attach] for a client that is greeted with the
// machine's hello: hello gets the hello body on the machine's goroutine in
// the same step that subscribes the client, so no event falls between the
// state the hello reports and the first event the client hears (a card read
// just then would otherwise be in neither). hello must not block: it queues
// the frame. AttachHello returns once both are done.
func (m *Machine) AttachHello(info ClientInfo, notify func(protocol.Event), hello func(protocol.HelloBody)) *Client {
	c := m.newClient(info, notify)
	done := make(chan struct{})
	m.post(func() {
		hello(m.helloBody(m.State()))
		m.clients = append(m.clients, c)
		close(done)
	})
	<-done
	return c
}

// Info returns what the client was attached with.
func (c *Client) Info() ClientInfo { return c.info }

// Handle queues a request from this client; see [Machine.Handle].
func (c *Client) Handle(req protocol.Request, reply func(protocol.Result)) {
	c.m.handleFrom(c, req, reply)
}

// Close detaches the client: its waiting requests are dropped unanswered
// (nobody is there to read them), and a prompt it was showing moves to the
// next client that waits for the login, or is cancelled. Close does not
// wait for the machine.
func (c *Client) Close() {
	c.m.post(func() { c.m.detach(c) })
}

// Clients lists the attached clients, for `oia status`. It waits for the
// machine's goroutine, so Run must be running.
func (m *Machine) Clients() []ClientInfo {
	done := make(chan []ClientInfo, 1)
	m.post(func() {
		var l []ClientInfo
		for _, c := range m.clients {
			l = append(l, c.info)
		}
		done <- l
	})
	return <-done
}

func (m *Machine) detach(c *Client) {
	if c.gone {
		return
	}
	c.gone = true
	m.clients = slices.DeleteFunc(m.clients, func(x *Client) bool { return x == c })
	m.waiters = slices.DeleteFunc(m.waiters, func(w waiter) bool { return w.client == c })
	m.destroys = slices.DeleteFunc(m.destroys, func(w waiter) bool { return w.client == c })
	if m.prompter != c {
		return
	}
	m.prompter = nil
	switch m.State() {
	case protocol.StateAwaitingPIN, protocol.StateAwaitingRole:
		if next := m.pickPrompter(); next != nil && len(m.waiters) > 0 {
			m.prompter = next
			m.repeatPrompt()
			return
		}
		m.deps.Log.WithField("client", c.info.Name).Info("the client asked for the passcode went away: the login is cancelled")
		m.cancelPrompt(protocol.New(protocol.CodeUserAbort))
	}
}

// promptable reports whether c can show a passcode or role prompt.
func (c *Client) promptable() bool {
	return !c.gone && c.notify != nil && (c.info.Kind == Browser || c.info.Kind == Terminal)
}

// wantsInsertPrompt is c's effective promptOnCardInsert.
func (c *Client) wantsInsertPrompt() bool {
	if c.info.Kind != Browser {
		return false
	}
	if c.promptOnInsert != nil && !c.m.set.Locked["promptOnCardInsert"] {
		return *c.promptOnInsert
	}
	return c.m.set.PromptOnCardInsert
}

// pickPrompter chooses who is asked for the passcode (docs/protocol.md §6.5):
// the client of the first waiting request that can ask; for a desktop
// application's request, the browser that attached most recently; for the
// prompt on card insertion, the most recent browser whose promptOnCardInsert
// is on. Nil when nobody can ask.
func (m *Machine) pickPrompter() *Client {
	for _, w := range m.waiters {
		if w.client != nil && w.client.promptable() {
			return w.client
		}
	}
	for i := len(m.clients) - 1; i >= 0; i-- {
		c := m.clients[i]
		if c.promptable() && c.info.Kind == Browser && (len(m.waiters) > 0 || c.wantsInsertPrompt()) {
			return c
		}
	}
	return nil
}

// insertPrompter is who a card's insertion prompts, or nil.
func (m *Machine) insertPrompter() *Client {
	if len(m.waiters) > 0 {
		return nil
	}
	return m.pickPrompter()
}

// promptApp names the desktop application a prompt is for, or nil when a
// page or the terminal asked.
func (m *Machine) promptApp() *protocol.App {
	if len(m.waiters) == 0 {
		return nil
	}
	c := m.waiters[0].client // the first to ask is the one the prompt is for
	if c == nil || c.info.Kind != App {
		return nil
	}
	name := c.info.Name
	if c.info.Exe != "" {
		name = filepath.Base(c.info.Exe)
	}
	return &protocol.App{Name: name, PID: c.info.PID}
}

// pinTimeout is the prompt timeout in force: the prompter's hello override
// unless the system configuration fixes it.
func (m *Machine) pinTimeout() time.Duration {
	if c := m.prompter; c != nil && c.pinTimeout > 0 && !m.set.Locked["pinTimeoutSeconds"] {
		return c.pinTimeout
	}
	return m.set.PINTimeout
}

// isPromptEvent reports whether ev is meant for the prompter alone.
func isPromptEvent(ev protocol.Event) bool {
	return ev.Name == protocol.EvPINRequired || ev.Name == protocol.EvRoleRequired
}

// targets are the clients an event goes to: a prompt to the prompter, and
// everything else to every subscribed client.
func (m *Machine) targets(ev protocol.Event) []*Client {
	if isPromptEvent(ev) {
		if m.prompter != nil && m.prompter.notify != nil {
			return []*Client{m.prompter}
		}
		return nil
	}
	var l []*Client
	for _, c := range m.clients {
		if c.notify != nil {
			l = append(l, c)
		}
	}
	return l
}
