// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build linux

package ticketapi

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/load"
	e2erig "github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/protocol"
)

// These tests run the library against the real agent (`oia agent`, started
// by a relay as a browser's extension would start it) on a private
// endpoint, with the virtual card and the broker simulator: the same
// session the browsers share (docs/ticket-api.md).

// agentStack is one agent with the rig's card and simulator.
type agentStack struct {
	rig   *load.Rig
	agent *e2erig.Agent
	env   []string
	cfg   map[string]any
}

// newAgentStack makes the card, the simulator and an agent endpoint whose
// system configuration turns the Ticket API on or off.
func newAgentStack(t *testing.T, ticketAPI bool) *agentStack {
	t.Helper()
	rig, err := load.NewRig(load.RigOptions{Dir: t.TempDir(), ModulePath: vcard.ModulePath(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rig.Close() })
	ag, err := e2erig.NewAgent()
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the rig's: runs first, so the agent logs out at a
	// simulator that still runs.
	t.Cleanup(func() {
		if err := ag.Close(); err != nil {
			t.Errorf("stop the agent: %v", err)
		}
	})
	sys := filepath.Join(t.TempDir(), "system.json")
	b, _ := json.Marshal(map[string]any{"ticketApiEnabled": ticketAPI})
	if err := os.WriteFile(sys, b, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(rig.Env(), ag.Env(), "OIA_SYSTEM_CONFIG="+sys)
	return &agentStack{rig: rig, agent: ag, env: env, cfg: rig.Config()}
}

// relay starts oia-host on the stack's agent, as a browser would (it
// starts the agent when none runs), and waits until the card is read.
func (s *agentStack) relay(t *testing.T) *load.Host {
	t.Helper()
	bin, err := e2erig.Binary("oia-host")
	if err != nil {
		t.Fatal(err)
	}
	h, err := load.Start(load.Options{Binary: bin, Dir: t.TempDir(), Config: s.cfg, Env: s.env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(3 * time.Second) })
	if err := load.WaitCard(ctxFor(t), h); err != nil {
		t.Fatalf("%v; stderr: %s", err, h.Stderr())
	}
	return h
}

// activations counts the simulator's successful authactivate calls.
func (s *agentStack) activations() int {
	n := 0
	for _, e := range s.rig.Sim.Log() {
		if e.Endpoint == brokersim.EndpointActivate && e.Status == 200 {
			n++
		}
	}
	return n
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// answerPrompt waits for the passcode prompt a desktop application caused,
// checks that it names the application, answers it, and returns the
// application's process id as the agent reported it.
func answerPrompt(t *testing.T, h *load.Host, pin string) int {
	t.Helper()
	f, err := h.Event(ctxFor(t), protocol.EvPINRequired)
	if err != nil {
		t.Fatal(err)
	}
	if f.App == nil || f.App.Name != "ticketapi-test" || f.App.PID <= 0 {
		t.Errorf("the prompt names %+v, want the test program ticketapi-test and its pid", f.App)
	}
	if f.Origin != "" {
		t.Errorf("a desktop application's prompt shows the origin %q", f.Origin)
	}
	if _, err := h.Send(map[string]any{"type": "pin", "pin": pin}); err != nil {
		t.Fatal(err)
	}
	if f.App == nil {
		return 0
	}
	return f.App.PID
}

// TestAgent_SharedSession: the library reaches the session the browsers
// share. With no session getTicketNoAuth is refused; with no browser a
// login cannot ask for the passcode; with one, the prompt shows in it and
// names the application; the library then gets the page's ticket; a small
// buffer is refused untouched; sixteen calls from two processes make no
// second login; destroyTicket ends the session for the browser too.
func TestAgent_SharedSession(t *testing.T) {
	lib := sanitized(t)
	s := newAgentStack(t, true)

	// Start the agent as a browser would, then close that browser: the
	// agent, with the card in, stays.
	first := s.relay(t)
	if err := first.Close(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.agent.PID(); err != nil {
		t.Fatalf("the agent did not outlive the relay that started it: %v", err)
	}
	client(t, lib, s.agent.Addr(), "ticket", "noauth", "256").want(t, "rc", codeNotAvailable)
	client(t, lib, s.agent.Addr(), "ticket", "get", "256").want(t, "rc", codeAuthNotPossible)

	// A browser connects; the application's login prompts in it.
	h := s.relay(t)
	var r result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, err = runClient(lib, s.agent.Addr(), "ticket", "get", "4096")
	}()
	answerPrompt(t, h, s.rig.PIN)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	r.want(t, "rc", codeSuccess)
	page, perr := h.Call(ctxFor(t), map[string]any{"type": "getTicketNoAuth", "origin": load.RigOrigin})
	if perr != nil || !page.OK {
		t.Fatalf("the page's getTicketNoAuth: %v %+v", perr, page.Error)
	}
	if r["ticket"] != page.Ticket || r["used"] != strconv.Itoa(len(page.Ticket)) {
		t.Errorf("the library got another ticket (%s bytes, %d characters) than the page (%d)", r["used"], len(r["ticket"]), len(page.Ticket))
	}
	if !s.rig.Sim.TicketLive(page.Ticket) {
		t.Error("the broker does not know the shared ticket")
	}

	// A 10-byte buffer: refused, nothing written.
	small := client(t, lib, s.agent.Addr(), "ticket", "noauth", "10")
	small.want(t, "rc", codeBufferTooSmall)
	small.want(t, "untouched", "1")

	// Two processes of eight threads: every call gets the ticket, and the
	// broker sees no new login.
	before := s.activations()
	results := startTwo(lib, s.agent.Addr(), "threads", "8", "get")(t)
	for i := range results {
		results[i].want(t, "ok", "8")
		results[i].want(t, "distinct", "1")
		if got := results[i]["thread0_ticket"]; got != page.Ticket {
			t.Errorf("process %d got another ticket (%d characters) than the session's", i, len(got))
		}
	}
	if n := s.activations() - before; n != 0 {
		t.Errorf("%d logins at the broker for calls on a live session, want 0", n)
	}

	// destroyTicket from the application: the browser hears it, the
	// broker forgets the ticket.
	h.Drop()
	client(t, lib, s.agent.Addr(), "destroy").want(t, "rc", codeSuccess)
	if _, err := h.Event(ctxFor(t), protocol.EvTicketDestroyed); err != nil {
		t.Fatalf("the browser did not hear the application's destroyTicket: %v", err)
	}
	if s.rig.Sim.TicketLive(page.Ticket) {
		t.Error("the broker still knows the ticket after destroyTicket")
	}
	client(t, lib, s.agent.Addr(), "ticket", "noauth", "256").want(t, "rc", codeNotAvailable)
}

// TestAgent_ConcurrentLoginIsOne: with no session, sixteen getTicket calls
// from two processes at once make one prompt and one login at the broker.
func TestAgent_ConcurrentLoginIsOne(t *testing.T) {
	lib := sanitized(t)
	s := newAgentStack(t, true)
	h := s.relay(t)
	before := s.activations()
	wait := startTwo(lib, s.agent.Addr(), "threads", "8", "get")
	answerPrompt(t, h, s.rig.PIN)
	results := wait(t)
	tickets := map[string]bool{}
	for i := range results {
		results[i].want(t, "ok", "8")
		results[i].want(t, "distinct", "1")
		tickets[results[i]["thread0_ticket"]] = true
	}
	if len(tickets) != 1 {
		t.Errorf("the processes got different tickets: %v", tickets)
	}
	if n := s.activations() - before; n != 1 {
		t.Errorf("%d logins at the broker, want 1", n)
	}
	// The passcode was asked once: no second prompt is waiting.
	h.Drop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if f, err := h.Event(ctx, protocol.EvPINRequired); err == nil {
		t.Errorf("a second passcode prompt: %+v", f)
	}
}

// TestAgent_TicketAPIOff: with the system configuration's key off (the
// default), every call is refused with TCK_API_ERR_NOT_INSTALLED, even
// while a browser has a session.
func TestAgent_TicketAPIOff(t *testing.T) {
	lib := sanitized(t)
	s := newAgentStack(t, false)
	h := s.relay(t)
	if r, err := load.Login(ctxFor(t), h, load.RigOrigin, s.rig.PIN); err != nil || !r.OK {
		t.Fatalf("the browser's login: %v %+v", err, r.Error)
	}
	for _, args := range [][]string{{"ticket", "noauth", "256"}, {"ticket", "get", "256"}, {"ticket", "new", "256"}, {"destroy"}} {
		client(t, lib, s.agent.Addr(), args...).want(t, "rc", codeNotInstalled)
	}
	if r, err := h.Call(ctxFor(t), map[string]any{"type": "getTicketNoAuth", "origin": load.RigOrigin}); err != nil || !r.OK {
		t.Errorf("the browser's session did not survive the refused calls: %v %+v", err, r.Error)
	}
}
