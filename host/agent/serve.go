// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package agent

import (
	"context"
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/login"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
)

// Options tune [Agent.Serve]. The zero value is the product's defaults
// but for Idle, which the configuration sets (agentIdleSeconds).
type Options struct {
	// Idle ends the agent after this long with no card in a reader and no
	// client attached; 0 never.
	Idle time.Duration
	// MaxClients bounds the clients attached at once; a client over it is
	// refused with BUSY. 0 means 64.
	MaxClients int
	// Exe is the agent's own executable. When the file changes on disk (a
	// package upgrade), the agent exits as soon as no session and no login
	// would end with it, and the next client starts the new one.
	Exe string
	// AttachTimeout bounds the wait for a client's attach frame; 0 means 5 s.
	AttachTimeout time.Duration
	// Tick is how often the agent checks its endpoint, its idle time and
	// its executable; 0 means 1 s.
	Tick time.Duration
}

// Stop says why [Agent.Serve] returned.
type Stop string

// Why the agent stops.
const (
	StopContext      Stop = "the agent was told to stop"                       // ctx ended: a signal, the session's end
	StopRequested    Stop = "oia agent stop"                                   // agentStop from the oia command
	StopIdle         Stop = "idle: no card and no client"                      // Options.Idle passed
	StopEndpointLost Stop = "the endpoint was removed or taken over"           // the user's session ended, or cleanup
	StopUpgraded     Stop = "a new version was installed and nothing was lost" // Options.Exe changed
)

// maxAttach bounds the attach frame, which is a few short strings.
const maxAttach = 4 << 10

// Serve runs the agent on l until ctx ends or a reason in [Stop] comes: the
// login machine, the card watcher, and one connection per client that
// attaches (docs/protocol.md §6). It closes l, detaches every client and
// ends the broker session before it returns.
func (a *Agent) Serve(ctx context.Context, l *endpoint.Listener, o Options) (Stop, error) {
	if o.MaxClients <= 0 {
		o.MaxClients = 64
	}
	if o.AttachTimeout <= 0 {
		o.AttachTimeout = 5 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := a.Machine
	machineDone := make(chan struct{})
	go func() { m.Run(ctx); close(machineDone) }()
	go a.Watch(ctx)
	ready := a.Ready(ctx)

	s := &serving{a: a, o: o, ready: ready, since: time.Now(), stop: make(chan Stop, 1), conns: map[net.Conn]*nativemsg.Writer{}}
	accepted := make(chan error, 1)
	go func() { accepted <- s.accept(l) }()
	tick := time.NewTicker(o.Tick)
	defer tick.Stop()
	exe := stampOf(o.Exe)
	idleSince := time.Now()
	var why Stop
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			why = StopContext
			break loop
		case why = <-s.stop:
			break loop
		case err = <-accepted:
			why = StopEndpointLost
			if !l.Held() {
				err = nil // Accept failed because the endpoint went away
			}
			break loop
		case now := <-tick.C:
			if !l.Held() {
				why = StopEndpointLost
				break loop
			}
			st := m.Current()
			if s.count() > 0 || st != protocol.StateNoCard {
				idleSince = now
			} else if o.Idle > 0 && now.Sub(idleSince) >= o.Idle {
				why = StopIdle
				break loop
			}
			if o.Exe != "" && !s.upgradePending() && stampOf(o.Exe) != exe {
				s.setUpgradePending()
				if !quiet(st) {
					a.log.Info("a new version is installed: the agent will give way to it when this session ends")
				}
			}
			if s.upgradePending() && quiet(st) {
				why = StopUpgraded
				break loop
			}
		}
	}
	a.log.WithField("reason", string(why)).Info("agent stopping")
	_ = l.Close() // first, so that a client from now on starts a new agent
	s.closeAll()
	cancel()
	select {
	case <-machineDone:
	case <-time.After(3 * time.Second):
		a.log.Warn("the login machine did not stop in time")
	}
	return why, err
}

// quiet reports whether nothing the user would miss runs in state st: no
// session, no login under way.
func quiet(st protocol.State) bool {
	return st == protocol.StateNoCard || st == protocol.StateCardPresent || st == protocol.StateLocked
}

// stamp identifies a version of a file on disk.
type stamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) stamp {
	if path == "" {
		return stamp{}
	}
	st, err := os.Stat(path)
	if err != nil {
		return stamp{size: -1}
	}
	return stamp{st.Size(), st.ModTime()}
}

// serving is one run of Serve: its connections and what agentStatus says.
type serving struct {
	a     *Agent
	o     Options
	ready <-chan struct{}
	since time.Time
	stop  chan Stop

	mu      sync.Mutex
	conns   map[net.Conn]*nativemsg.Writer // nil until the client attached
	closed  bool
	upgrade bool
}

func (s *serving) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *serving) upgradePending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upgrade
}

func (s *serving) setUpgradePending() {
	s.mu.Lock()
	s.upgrade = true
	s.mu.Unlock()
}

// add counts c in, unless the agent is full or closing.
func (s *serving) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= s.o.MaxClients {
		return false
	}
	s.conns[c] = nil
	return true
}

// attached records the writer of an attached client, so that closeAll can
// flush what is queued for it (the answer to agentStop) before closing.
func (s *serving) attached(c net.Conn, w *nativemsg.Writer) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		s.conns[c] = w
	}
	s.mu.Unlock()
}

func (s *serving) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// flushWait bounds how long closing a client waits for the frames queued
// for it to be written.
const flushWait = time.Second

// closeAll closes every connection, after writing what is queued for it
// (at most flushWait, for a client that reads nothing); each one's
// goroutine then detaches its client.
func (s *serving) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := maps.Clone(s.conns)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for c, w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w != nil {
				_ = c.SetWriteDeadline(time.Now().Add(flushWait))
				_ = w.Close()
			}
			_ = c.Close()
		}()
	}
	wg.Wait()
}

func (s *serving) requestStop(why Stop) {
	select {
	case s.stop <- why:
	default:
	}
}

func (s *serving) accept(l *endpoint.Listener) error {
	for {
		c, p, err := l.Accept()
		if err != nil {
			return err
		}
		if !s.add(c) {
			s.a.log.WithField("pid", p.PID).Warn("a client was refused: the agent has its maximum of clients")
			refuse(c, protocol.Errorf(protocol.CodeBusy, "the agent serves %d clients already: close some browsers or applications", s.o.MaxClients))
			continue
		}
		go s.serve(c, p)
	}
}

// refuse sends a client the error event that explains why it is turned
// away, and closes it.
func refuse(c net.Conn, err error) {
	if frame, e := nativemsg.Encode(protocol.ErrorEventOf(err)); e == nil {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(frame)
	}
	_ = c.Close()
}

// serve runs one client's connection: the attach frame, the hello, then
// its requests until it closes.
func (s *serving) serve(c net.Conn, p endpoint.Peer) {
	defer s.remove(c)
	log := s.a.log.WithFields(logrus.Fields{"peer_pid": p.PID, "peer_exe": p.Exe})
	_ = c.SetReadDeadline(time.Now().Add(s.o.AttachTimeout))
	body, err := nativemsg.NewReader(c, maxAttach).Read()
	if err != nil {
		log.WithError(err).Info("a client did not attach")
		refuse(c, protocol.Errorf(protocol.CodeBadRequest, "the first frame must be an attach object within %s", s.o.AttachTimeout))
		return
	}
	att, err := protocol.DecodeAttach(body)
	if err != nil {
		log.WithError(err).Warn("a client's attach was refused")
		refuse(c, err)
		return
	}
	info, decode, err := s.admit(att, p)
	if err != nil {
		log.WithError(err).WithField("client", att.Client).Warn("a client was refused")
		refuse(c, err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	log = log.WithFields(logrus.Fields{"client": info.Kind.String(), "name": info.Name})

	w := nativemsg.NewWriter(c, clientQueue)
	s.attached(c, w)
	out := &sender{w: w, c: c, legacy: att.Client == protocol.ClientTicketAPI, log: log}
	defer func() {
		_ = c.Close() // a writer stuck on a client that reads nothing fails now
		_ = w.Close()
	}()
	var notify func(protocol.Event)
	if att.Events == nil || *att.Events {
		notify = func(ev protocol.Event) { _ = out.SendNow(ev) }
	}
	// The hello first, and in one step with the subscription: no card
	// event can fall between them.
	client := s.a.Machine.AttachHello(info, notify, func(b protocol.HelloBody) { _ = out.SendNow(protocol.Hello{HelloBody: b}) })
	defer client.Close()
	log.Info("client attached")
	err = server.ServeWith(c, out, s.ready, handler{s: s, c: client}, log, decode)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		log.WithError(err).Debug("client connection ended")
	}
	log.Info("client detached")
}

// admit checks an attach against the agent's rules and describes the
// client.
func (s *serving) admit(att protocol.Attach, p endpoint.Peer) (login.ClientInfo, server.Decoder, error) {
	if protocol.Major(att.Protocol) != protocol.Major(protocol.Version) {
		return login.ClientInfo{}, nil, protocol.Errorf(protocol.CodeAgentVersionMismatch,
			"the %s speaks protocol %s and the agent %s: install matching versions of open identity agent, then run 'oia agent stop'",
			att.Client, att.Protocol, protocol.Version)
	}
	info := login.ClientInfo{PID: p.PID, Exe: p.Exe}
	switch att.Client {
	case protocol.ClientRelay:
		if att.Browser == "" {
			return info, nil, protocol.Errorf(protocol.CodeBadRequest, "a relay's attach must name its browser's extension")
		}
		if s.a.cfg != nil && !s.a.cfg.ExtensionAllowed(att.Browser) {
			return info, nil, protocol.Errorf(protocol.CodeExtensionNotAllowed, "extension %s is not allowed: add it to allowedExtensions in the system configuration", att.Browser)
		}
		info.Kind, info.Name = login.Browser, att.Browser
		return info, protocol.DecodeRequest, nil
	case protocol.ClientOIA:
		info.Kind, info.Name = login.Terminal, "oia"
		return info, protocol.DecodeClientRequest, nil
	}
	info.Kind, info.Name = login.App, "unknown"
	if p.Exe != "" { // else the OS did not say which executable it is
		info.Name = filepath.Base(p.Exe)
	}
	if s.a.cfg == nil || !s.a.cfg.TicketAPIAllowed(p.Exe) {
		return info, nil, protocol.Errorf(protocol.CodeTicketAPIDisabled,
			"the ticket api is not enabled for %s: an administrator sets ticketApiEnabled (and ticketApiExecutables) in the system configuration", info.Name)
	}
	return info, protocol.DecodeClientRequest, nil
}

// sender sends to one client (a [server.TrySender]): SendNow, for the
// machine's events and answers, never blocks, and a client that stops
// reading is disconnected; Send, for the answers to unreadable frames on the
// client's own reader, waits for room.
type sender struct {
	w      *nativemsg.Writer
	c      net.Conn
	legacy bool // the Ticket API library: every error carries a legacy number
	log    logrus.FieldLogger
}

// clientQueue is how many frames may wait for one client; clientRoom is
// how full it may be when the client's next request is read.
const (
	clientQueue = 256
	clientRoom  = clientQueue / 2
)

// WaitRoom waits until the client's queue is at most half full.
func (s *sender) WaitRoom() { s.w.WaitRoom(clientRoom) }

// Send waits for room in the client's queue.
func (s *sender) Send(v any) error { return s.w.Send(s.legacyOf(v)) }

// SendNow queues v or, with the queue full, disconnects the client.
func (s *sender) SendNow(v any) error {
	err := s.w.TrySend(s.legacyOf(v))
	if errors.Is(err, nativemsg.ErrQueueFull) {
		s.log.Warn("a client stopped reading: disconnecting it")
		_ = s.c.Close()
	}
	return err
}

// legacyOf gives an error result for the Ticket API library its legacy
// number, which every error it gets carries.
func (s *sender) legacyOf(v any) any {
	if r, ok := v.(protocol.Result); ok && s.legacy && r.Err != nil && r.Err.LegacyCode == 0 {
		e := *r.Err
		e.LegacyCode = e.Code.NearestLegacy()
		r.Err = &e
		return r
	}
	return v
}

// handler serves one client's requests: the agent's own, for the oia
// command, and the machine's.
type handler struct {
	s *serving
	c *login.Client
}

func (h handler) Handle(req protocol.Request, reply func(protocol.Result)) {
	switch req.Type {
	case protocol.ReqAgentStatus, protocol.ReqAgentStop:
		if h.c.Info().Kind != login.Terminal {
			reply(protocol.Fail(req.ID, protocol.Errorf(protocol.CodeBadRequest, "%s is for the oia command only", req.Type)))
			return
		}
		if req.Type == protocol.ReqAgentStop {
			reply(protocol.OK(req.ID, struct{}{}))
			h.s.requestStop(StopRequested)
			return
		}
		reply(protocol.OK(req.ID, h.s.status()))
	default:
		h.c.Handle(req, reply)
	}
}

func (s *serving) status() protocol.AgentStatus {
	st := protocol.AgentStatus{
		PID: os.Getpid(), Version: oia.Version, Protocol: protocol.Version,
		Since: s.since.UTC().Format(time.RFC3339), UpgradePending: s.upgradePending(),
		Clients: []protocol.AgentClient{},
	}
	for _, c := range s.a.Machine.Clients() {
		st.Clients = append(st.Clients, protocol.AgentClient{Kind: c.Kind.String(), Name: c.Name, PID: c.PID, Exe: c.Exe})
	}
	return st
}
