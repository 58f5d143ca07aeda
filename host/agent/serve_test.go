// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/host/agent"
	"github.com/openidentityagent/oia/host/agentclient"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// These tests run the agent's serving loop on a real endpoint (a Unix
// socket in a private directory) with no PKCS#11 module: what they check
// is the agent's own work (attach, admission, bounds, stopping), not the
// login, which host/login, oia-host's and the e2e tests drive with cards.

// served is one Serve run.
type served struct {
	addr string
	done chan struct{}
	why  agent.Stop
}

// stopped waits up to limit for Serve to return and says why it did.
func (s *served) stopped(limit time.Duration) (agent.Stop, bool) {
	select {
	case <-s.done:
		return s.why, true
	case <-time.After(limit):
		return "", false
	}
}

// serve starts an agent with no card module and a broker that is never
// called; edit, when not nil, changes its configuration first.
func serve(t *testing.T, o agent.Options, edit func(*config.Config)) *served {
	t.Helper()
	cfg := config.Default()
	cfg.PKCS11Modules, cfg.DefaultModules = nil, false
	cfg.BrokerURL = "https://127.0.0.1:9/"
	if edit != nil {
		edit(cfg)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	a, err := agent.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "oia-s") // short: a socket path has a bound
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	addr := filepath.Join(dir, "oia", "agent.sock")
	l, err := endpoint.Listen(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{addr: addr, done: make(chan struct{})}
	go func() {
		s.why, _ = a.Serve(ctx, l, o)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		if _, ok := s.stopped(10 * time.Second); !ok {
			t.Error("Serve did not return within 10 s of its context ending")
		}
	})
	return s
}

// oiaClient attaches as the oia command.
func oiaClient(t *testing.T, addr string) *agentclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := agentclient.Connect(ctx, agentclient.Options{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw is a client that writes its own frames, as the relay does.
type raw struct {
	c net.Conn
	r *nativemsg.Reader
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := endpoint.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &raw{c: c, r: nativemsg.NewReader(c, nativemsg.MaxOutbound)}
}

func (r *raw) send(t *testing.T, v any) {
	t.Helper()
	frame, err := nativemsg.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// next reads one frame, or fails after 5 s; closed says the agent closed
// the connection instead.
func (r *raw) next(t *testing.T) (f protocol.Frame, closed bool) {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	body, err := r.r.Read()
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("no frame from the agent within 5 s")
		}
		return f, true
	}
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("a frame that is not json: %q", body)
	}
	return f, false
}

// relayAttach is a relay's attach for the extension id.
func relayAttach(ext string) protocol.Attach {
	return protocol.Attach{Type: "attach", Protocol: protocol.Version, Client: protocol.ClientRelay, Browser: ext}
}

// allowedExtension is an extension id the default configuration allows.
func allowedExtension(t *testing.T) string {
	t.Helper()
	ids := config.Default().AllowedExtensions
	if len(ids) == 0 {
		t.Skip("this build allows no extension by default")
	}
	return ids[0]
}

func agentStatus(t *testing.T, c *agentclient.Client) protocol.AgentStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := c.Request(ctx, protocol.Request{ID: "s", Type: protocol.ReqAgentStatus})
	if r.Err != nil {
		t.Fatalf("agentStatus: %+v", r.Err)
	}
	st, ok := r.Body.(protocol.AgentStatus)
	if !ok {
		t.Fatalf("agentStatus body %T", r.Body)
	}
	return st
}

func TestServe_ClientsShareOneAgent(t *testing.T) {
	s := serve(t, agent.Options{}, nil)
	relay := dialRaw(t, s.addr)
	relay.send(t, relayAttach(allowedExtension(t)))
	if f, closed := relay.next(t); closed || f.Type != "hello" {
		t.Fatalf("the relay got %+v (closed %v), want hello", f, closed)
	}
	c := oiaClient(t, s.addr)
	if c.Hello.Protocol != protocol.Version {
		t.Errorf("hello protocol %q, want %q", c.Hello.Protocol, protocol.Version)
	}
	st := agentStatus(t, c)
	kinds := map[string]int{}
	for _, cl := range st.Clients {
		kinds[cl.Kind]++
	}
	if kinds["browser"] != 1 || kinds["terminal"] != 1 || len(st.Clients) != 2 {
		t.Errorf("agentStatus lists %+v, want one browser and one terminal", st.Clients)
	}
	if st.PID != os.Getpid() {
		t.Errorf("agentStatus pid %d, want this process %d", st.PID, os.Getpid())
	}
	// Both are served by the one machine: the relay's status is the same
	// state as the terminal's.
	relay.send(t, map[string]any{"id": "r1", "type": "status"})
	for {
		f, closed := relay.next(t)
		if closed {
			t.Fatal("the agent closed the relay's connection")
		}
		if f.Type == "result" && f.ID == "r1" {
			if !f.OK || f.State != protocol.StateNoCard {
				t.Errorf("relay status %+v, want ok and noCard (no module loaded)", f)
			}
			break
		}
	}
}

func TestServe_RefusesAttach(t *testing.T) {
	s := serve(t, agent.Options{AttachTimeout: 300 * time.Millisecond}, nil)
	ext := allowedExtension(t)
	tests := []struct {
		name  string
		first any // nil: send nothing
		want  protocol.Code
	}{
		{"another major protocol: the relay and agent of different packages",
			protocol.Attach{Type: "attach", Protocol: "2.0", Client: protocol.ClientRelay, Browser: ext}, protocol.CodeAgentVersionMismatch},
		{"a relay must say which extension called it",
			relayAttach(""), protocol.CodeBadRequest},
		{"an extension the configuration does not allow",
			relayAttach("abcdefghijklmnopabcdefghijklmnop"), protocol.CodeExtensionNotAllowed},
		{"the Ticket API is off unless the system configuration enables it",
			protocol.Attach{Type: "attach", Protocol: protocol.Version, Client: protocol.ClientTicketAPI}, protocol.CodeTicketAPIDisabled},
		{"a request before attach",
			map[string]any{"id": "1", "type": "getTicket"}, protocol.CodeBadRequest},
		{"an unknown kind of client",
			map[string]any{"type": "attach", "protocol": protocol.Version, "client": "spy"}, protocol.CodeBadRequest},
		{"an attach with a field the agent does not know",
			map[string]any{"type": "attach", "protocol": protocol.Version, "client": "oia", "uid": "0"}, protocol.CodeBadRequest},
		{"nothing sent within the attach timeout",
			nil, protocol.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, s.addr)
			if tt.first != nil {
				r.send(t, tt.first)
			}
			f, closed := r.next(t)
			if closed || f.Type != "event" || f.Event != protocol.EvError || f.Error == nil || f.Error.Code != tt.want {
				t.Fatalf("got %+v %+v (closed %v), want an error event %s", f, f.Error, closed, tt.want)
			}
			if f.Error.Message == "" {
				t.Error("the refusal explains nothing")
			}
			if _, closed := r.next(t); !closed {
				t.Error("the agent kept a refused client connected")
			}
		})
	}
	// Refusals use no slot: a client still attaches.
	_ = oiaClient(t, s.addr)
}

func TestServe_BusyBeyondMaxClients(t *testing.T) {
	s := serve(t, agent.Options{MaxClients: 3}, nil)
	var first *agentclient.Client
	for i := range 3 {
		c := oiaClient(t, s.addr)
		if i == 0 {
			first = c
		}
	}
	over := dialRaw(t, s.addr)
	f, closed := over.next(t)
	if closed || f.Error == nil || f.Error.Code != protocol.CodeBusy {
		t.Fatalf("the fourth client got %+v (closed %v), want BUSY", f, closed)
	}
	// A slot frees when a client leaves.
	_ = first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := agentclient.Connect(ctx, agentclient.Options{Address: s.addr})
		cancel()
		if err == nil {
			_ = c.Close()
			return
		}
		if protocol.CodeOf(err) != protocol.CodeBusy || time.Now().After(deadline) {
			t.Fatalf("after a client left, another could not attach: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the agent notices the close on its own goroutine
	}
}

func TestServe_AgentRequestsAreForTheTerminal(t *testing.T) {
	s := serve(t, agent.Options{}, nil)
	relay := dialRaw(t, s.addr)
	relay.send(t, relayAttach(allowedExtension(t)))
	if f, _ := relay.next(t); f.Type != "hello" {
		t.Fatalf("got %+v, want hello", f)
	}
	for _, typ := range []protocol.RequestType{protocol.ReqAgentStatus, protocol.ReqAgentStop} {
		relay.send(t, map[string]any{"id": string(typ), "type": typ})
		for {
			f, closed := relay.next(t)
			if closed {
				t.Fatalf("%s: the agent closed the relay", typ)
			}
			if f.Type != "result" || f.ID != string(typ) {
				continue
			}
			if f.OK || f.Error == nil || f.Error.Code != protocol.CodeBadRequest {
				t.Errorf("%s from a browser: %+v, want BAD_REQUEST", typ, f)
			}
			break
		}
	}
	if why, ok := s.stopped(300 * time.Millisecond); ok {
		t.Fatalf("a browser's agentStop stopped the agent: %s", why)
	}
}

func TestServe_Stops(t *testing.T) {
	fast := agent.Options{Tick: 20 * time.Millisecond}
	tests := []struct {
		name string
		o    agent.Options
		do   func(t *testing.T, s *served, exe string)
		want agent.Stop
	}{
		{"oia agent stop", fast, func(t *testing.T, s *served, _ string) {
			c := oiaClient(t, s.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if r := c.Request(ctx, protocol.Request{ID: "1", Type: protocol.ReqAgentStop}); r.Err != nil {
				t.Fatalf("agentStop: %+v", r.Err)
			}
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Error("the client stayed connected to a stopped agent")
			}
		}, agent.StopRequested},
		{"idle: no card and no client", agent.Options{Tick: 20 * time.Millisecond, Idle: 200 * time.Millisecond}, func(*testing.T, *served, string) {}, agent.StopIdle},
		{"a client keeps an idle agent up; its leaving starts the idle time", agent.Options{Tick: 20 * time.Millisecond, Idle: 200 * time.Millisecond}, func(t *testing.T, s *served, _ string) {
			c := oiaClient(t, s.addr)
			if why, ok := s.stopped(600 * time.Millisecond); ok {
				t.Fatalf("the agent stopped with a client attached: %s", why)
			}
			_ = c.Close()
		}, agent.StopIdle},
		{"the socket was removed (the session's runtime directory went)", fast, func(t *testing.T, s *served, _ string) {
			if err := os.Remove(s.addr); err != nil {
				t.Fatal(err)
			}
		}, agent.StopEndpointLost},
		{"an upgrade with no session gives way at once", fast, func(t *testing.T, s *served, exe string) {
			_ = oiaClient(t, s.addr) // a client does not hold an upgrade back; a session would
			if err := os.WriteFile(exe, []byte("version 2, longer"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, agent.StopUpgraded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), "oia")
			if err := os.WriteFile(exe, []byte("version 1"), 0o755); err != nil {
				t.Fatal(err)
			}
			o := tt.o
			o.Exe = exe
			s := serve(t, o, nil)
			tt.do(t, s, exe)
			why, ok := s.stopped(5 * time.Second)
			if !ok {
				t.Fatalf("the agent did not stop within 5 s, want %q", tt.want)
			}
			if why != tt.want {
				t.Errorf("stopped with %q, want %q", why, tt.want)
			}
			// A stopped agent has given its endpoint up: a new one can take it.
			l, err := endpoint.Listen(s.addr, nil)
			if err != nil {
				t.Fatalf("the endpoint is still held after the agent stopped: %v", err)
			}
			_ = l.Close()
		})
	}
}

func TestServe_ManyClientsAtOnce(t *testing.T) {
	s := serve(t, agent.Options{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := agentclient.Connect(ctx, agentclient.Options{Address: s.addr})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if r := c.Request(ctx, protocol.Request{ID: "1", Type: protocol.ReqStatus}); r.Err != nil {
				errs <- fmt.Errorf("status: %s %s", r.Err.Code, r.Err.Message)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
