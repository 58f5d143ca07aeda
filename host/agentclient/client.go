// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package agentclient is the oia command's connection to the agent: it
// dials the agent's endpoint (starting the agent when none runs), attaches
// as a client, and turns the agent's frames back into typed results and
// events (docs/protocol.md §6). The browser's relay does not use it: the
// relay forwards frames without reading them.
package agentclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// Options say how to reach the agent.
type Options struct {
	// Address is the endpoint; empty means endpoint.Address().
	Address string
	// Client is the kind to attach as: protocol.ClientOIA unless set.
	Client string
	// Start starts an agent when none runs; nil connects only to a running
	// one and returns an error wrapping endpoint.ErrNoAgent otherwise.
	Start func() error
	// NoEvents subscribes to no events (a client that reads results only).
	NoEvents bool
}

// Client is one attached connection.
type Client struct {
	// Hello is what the agent said when the client attached.
	Hello protocol.HelloBody
	// Peer is the agent's process, as the OS reports it.
	Peer endpoint.Peer

	conn   net.Conn
	w      *nativemsg.Writer
	events chan protocol.Event
	done   chan struct{}

	mu      sync.Mutex
	pending map[string]pending
	err     error
}

type pending struct {
	typ   protocol.RequestType
	reply func(protocol.Result)
}

// maxFrame bounds what the client reads from the agent: a result or event
// is far below the browsers' 1 MiB limit, which bounds the agent too.
const maxFrame = nativemsg.MaxOutbound

// Connect dials the agent and attaches. The context bounds the dial, the
// start and the hello.
func Connect(ctx context.Context, o Options) (*Client, error) {
	addr := o.Address
	if addr == "" {
		a, err := endpoint.Address()
		if err != nil {
			return nil, err
		}
		addr = a
	}
	conn, peer, err := endpoint.DialOrStart(ctx, addr, o.Start)
	if err != nil {
		return nil, err
	}
	if o.Client == "" {
		o.Client = protocol.ClientOIA
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	c, err := attach(conn, o)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	c.Peer = peer
	go c.read()
	return c, nil
}

func attach(conn net.Conn, o Options) (*Client, error) {
	att := protocol.Attach{Type: "attach", Protocol: protocol.Version, Client: o.Client, Version: oia.Version}
	if o.NoEvents {
		f := false
		att.Events = &f
	}
	frame, err := nativemsg.Encode(att)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(frame); err != nil {
		return nil, fmt.Errorf("cannot attach to the agent: %w", err)
	}
	body, err := nativemsg.NewReader(conn, maxFrame).Read()
	if err != nil {
		return nil, fmt.Errorf("the agent did not answer: %w", err)
	}
	var f protocol.Frame
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("the agent sent a frame that is not json: %w", err)
	}
	switch {
	case f.Type == "event" && f.Error != nil:
		return nil, &protocol.Error{Code: f.Error.Code, Message: f.Error.Message}
	case f.Type != "hello":
		return nil, fmt.Errorf("the agent answered attach with %q, not hello", f.Type)
	}
	c := &Client{conn: conn, events: make(chan protocol.Event, 64), done: make(chan struct{}), pending: map[string]pending{}}
	if err := json.Unmarshal(body, &c.Hello); err != nil {
		return nil, fmt.Errorf("the agent's hello is malformed: %w", err)
	}
	c.w = nativemsg.NewWriter(conn, 16)
	return c, nil
}

// Events delivers the agent's events; it is closed when the connection
// ends. A client that does not read them loses the oldest.
func (c *Client) Events() <-chan protocol.Event { return c.events }

// Done is closed when the connection ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, once Done is closed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Handle sends req and calls reply with its result once it comes, or with
// AGENT_UNAVAILABLE when the connection ends first.
func (c *Client) Handle(req protocol.Request, reply func(protocol.Result)) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		reply(protocol.Fail(req.ID, c.unavailable()))
		return
	}
	c.pending[req.ID] = pending{typ: req.Type, reply: reply}
	c.mu.Unlock()
	if err := c.w.Send(req); err != nil {
		c.finish(err)
	}
}

// Request sends one request and waits for its result, or for ctx.
func (c *Client) Request(ctx context.Context, req protocol.Request) protocol.Result {
	ch := make(chan protocol.Result, 1)
	c.Handle(req, func(r protocol.Result) { ch <- r })
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return protocol.Fail(req.ID, protocol.Errorf(protocol.CodeTimeout, "the agent did not answer in time"))
	}
}

// Close ends the connection.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}

func (c *Client) unavailable() error {
	return protocol.Errorf(protocol.CodeAgentUnavailable, "the connection to the agent ended: run 'oia doctor'")
}

// finish ends the connection once: every waiting request is answered
// AGENT_UNAVAILABLE.
func (c *Client) finish(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	waiting := c.pending
	c.pending = nil
	c.mu.Unlock()
	_ = c.conn.Close()
	for id, p := range waiting {
		p.reply(protocol.Fail(id, c.unavailable()))
	}
}

func (c *Client) read() {
	defer close(c.done)
	defer close(c.events)
	r := nativemsg.NewReader(c.conn, maxFrame)
	for {
		body, err := r.Read()
		if err != nil {
			c.finish(err)
			_ = c.w.Close()
			return
		}
		var f protocol.Frame
		if json.Unmarshal(body, &f) != nil {
			continue
		}
		switch f.Type {
		case "result":
			c.mu.Lock()
			p, ok := c.pending[f.ID]
			delete(c.pending, f.ID)
			c.mu.Unlock()
			if ok {
				p.reply(decodeResult(p.typ, f, body))
			}
		case "event":
			ev := decodeEvent(f, body)
			select {
			case c.events <- ev:
			default:
				select { // full: drop the oldest, keep the newest
				case <-c.events:
				default:
				}
				c.events <- ev
			}
		}
	}
}

// as decodes a frame as the body type T the machine gave it.
func as[T any](body []byte) (any, bool) {
	var v T
	if json.Unmarshal(body, &v) != nil {
		return nil, false
	}
	return v, true
}

// resultBodies and eventBodies decode the bodies the oia command reads;
// others stay raw JSON.
var (
	resultBodies = map[protocol.RequestType]func([]byte) (any, bool){
		protocol.ReqStatus:          as[protocol.StatusBody],
		protocol.ReqLogin:           as[protocol.Session],
		protocol.ReqGetTicket:       as[protocol.TicketBody],
		protocol.ReqGetTicketNoAuth: as[protocol.TicketBody],
		protocol.ReqGetNewTicket:    as[protocol.TicketBody],
		protocol.ReqAgentStatus:     as[protocol.AgentStatus],
		protocol.ReqHello:           as[protocol.HelloBody],
	}
	eventBodies = map[protocol.EventName]func([]byte) (any, bool){
		protocol.EvPINRequired:  as[protocol.PINPrompt],
		protocol.EvRoleRequired: as[protocol.RolePrompt],
		protocol.EvError:        as[protocol.ErrorEvent],
		protocol.EvCardInserted: as[protocol.CardInserted],
		protocol.EvState:        as[protocol.StateChange],
	}
)

// decodeResult gives a result the body type the machine gave it.
func decodeResult(typ protocol.RequestType, f protocol.Frame, body []byte) protocol.Result {
	if !f.OK {
		e := f.Error
		if e == nil {
			e = protocol.BodyOf(errors.New("no error"))
		}
		return protocol.Result{ID: f.ID, Err: e}
	}
	decode, ok := resultBodies[typ]
	if !ok {
		return protocol.Result{ID: f.ID, Body: json.RawMessage(body)}
	}
	v, ok := decode(body)
	if !ok {
		return protocol.Fail(f.ID, protocol.Errorf(protocol.CodeInternal, "the agent's %s result is malformed", typ))
	}
	return protocol.Result{ID: f.ID, Body: v}
}

// decodeEvent gives an event the body type the machine gave it.
func decodeEvent(f protocol.Frame, body []byte) protocol.Event {
	if decode, ok := eventBodies[f.Event]; ok {
		if v, ok := decode(body); ok {
			return protocol.Event{Name: f.Event, Body: v}
		}
	}
	return protocol.Event{Name: f.Event, Body: json.RawMessage(body)}
}
