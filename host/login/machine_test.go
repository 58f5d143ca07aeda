// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card"
	"github.com/openidentityagent/oia/host/origin"
	"github.com/openidentityagent/oia/host/protocol"
)

// recorder keeps the calls the fakes saw, in order.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(c string) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// fakeCard is a card with a passcode and three tries.
type fakeCard struct {
	rec      *recorder
	pin      string
	tries    int
	pinPad   bool
	loggedIn bool
	openErr  error
	// minLen and maxLen are the passcode length the card takes; 0: any.
	minLen, maxLen int
	// stale makes the open session report that its module was
	// re-initialised (CardSession.Stale), until the card is opened again.
	stale bool
	mu    sync.Mutex
}

func (c *fakeCard) Stale() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stale
}

func (c *fakeCard) Open(card.Token) (CardSession, error) {
	c.rec.add("card.Open")
	c.mu.Lock()
	c.stale = false
	c.mu.Unlock()
	if c.openErr != nil {
		return nil, c.openErr
	}
	return c, nil
}

func (c *fakeCard) status() card.PINStatus {
	st := card.PINStatus{AttemptsLeft: c.tries, PINPad: c.pinPad, FinalTry: c.tries == 1, Locked: c.tries == 0, MinLen: c.minLen, MaxLen: c.maxLen}
	return st
}

func (c *fakeCard) Identity() (card.Identity, error) {
	return card.Identity{UID: "555000111222"}, nil
}

func (c *fakeCard) PINStatus() (card.PINStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status(), nil
}

func (c *fakeCard) Login(pin string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rec.add("card.Login")
	if c.tries == 0 {
		return protocol.New(protocol.CodePINLocked)
	}
	if pin != c.pin {
		c.tries--
		if c.tries == 0 {
			return protocol.New(protocol.CodePINLocked)
		}
		return &card.LoginError{Status: c.status(), Err: protocol.New(protocol.CodePINIncorrect)}
	}
	c.tries = 3
	c.loggedIn = true
	return nil
}

func (c *fakeCard) Signer() (crypto.Signer, error) { c.rec.add("card.Signer"); return testKey, nil }
func (c *fakeCard) Logout() error                  { c.rec.add("card.Logout"); return nil }
func (c *fakeCard) Close() error                   { return nil }

var testKey, _ = rsa.GenerateKey(rand.Reader, 1024)

// fakeBroker answers with a session holding roles.
type fakeBroker struct {
	rec         *recorder
	roles       []broker.Role
	activateErr error
	roleErr     error
	// logoutDelay slows each logout, as a broker far away does.
	logoutDelay time.Duration
}

func (b *fakeBroker) Activate(context.Context) (*broker.Challenge, error) {
	b.rec.add("broker.Activate")
	if b.activateErr != nil {
		return nil, b.activateErr
	}
	return &broker.Challenge{Data: []byte("challenge")}, nil
}

func (b *fakeBroker) Validate(_ context.Context, _ *broker.Challenge, uid, resp string) (*broker.Session, error) {
	b.rec.add("broker.Validate")
	return &broker.Session{Ticket: "AQIC-ticket@AAJTSQACMDE=#", UID: uid, Name: "Jane Smith", Roles: b.roles,
		SessionTime: 10 * time.Minute, Created: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}, nil
}

func (b *fakeBroker) SelectRole(_ context.Context, _, id string) error {
	b.rec.add("broker.SelectRole " + id)
	return b.roleErr
}

func (b *fakeBroker) Logout(ctx context.Context, _ *broker.Session) error {
	b.rec.add("broker.Logout")
	select {
	case <-time.After(b.logoutDelay):
	case <-ctx.Done():
		return ctx.Err()
	}
	b.rec.add("broker.Logout done")
	return nil
}

// fakeClock fires timers only when told.
type fakeClock struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { t.stopped = true; return true }

func (c *fakeClock) Now() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }

func (c *fakeClock) AfterFunc(_ time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{f: f}
	c.timers = append(c.timers, t)
	return t
}

// fireAll runs every live timer (on its own goroutine, as a real one).
func (c *fakeClock) fireAll() {
	c.mu.Lock()
	ts := c.timers
	c.timers = nil
	c.mu.Unlock()
	for _, t := range ts {
		if !t.stopped {
			go t.f()
		}
	}
}

// harness runs a machine with fakes and records what it tells the
// extension.
type harness struct {
	t      *testing.T
	m      *Machine
	rec    *recorder
	card   *fakeCard
	broker *fakeBroker
	clock  *fakeClock
	mu     sync.Mutex
	events []protocol.Event
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
}

func newHarness(t *testing.T, roles int, prompt bool) *harness {
	h := &harness{t: t, rec: &recorder{}, clock: &fakeClock{}}
	h.card = &fakeCard{rec: h.rec, pin: "123456", tries: 3}
	h.broker = &fakeBroker{rec: h.rec}
	for i := range roles {
		h.broker.roles = append(h.broker.roles, broker.Role{ID: fmt.Sprintf("55525424210%d", i), Name: fmt.Sprintf("Role %d", i)})
	}
	origins, _ := origin.ParseList([]string{"https://*.nhs.uk"})
	h.m = New(Deps{
		Cards: h.card, Broker: h.broker, Clock: h.clock,
		Sign: func([]byte, card.Identity, crypto.Signer) (string, error) { h.rec.add("sign"); return "cms", nil },
		Notify: func(ev protocol.Event) {
			h.mu.Lock()
			h.events = append(h.events, ev)
			h.mu.Unlock()
		},
	}, Settings{Origins: origins, PromptOnCardInsert: prompt, PINTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan struct{})
	go func() { h.m.Run(ctx); close(h.done) }()
	t.Cleanup(cancel)
	return h
}

// state reads the state on the machine's goroutine.
func (h *harness) state() protocol.State {
	ch := make(chan protocol.State)
	h.m.post(func() { ch <- h.m.State() })
	return <-ch
}

// waitState waits until the machine is in s.
func (h *harness) waitState(s protocol.State) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if h.state() == s {
			return
		}
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("state = %s, want %s; events %v", h.state(), s, h.eventNames())
}

func (h *harness) eventNames() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for _, ev := range h.events {
		if ev.Name != protocol.EvState {
			names = append(names, string(ev.Name))
		}
	}
	return names
}

func (h *harness) lastEvent(name protocol.EventName) protocol.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.events) - 1; i >= 0; i-- {
		if h.events[i].Name == name {
			return h.events[i]
		}
	}
	return protocol.Event{}
}

// request sends a request and returns a channel of its one result.
func (h *harness) request(typ protocol.RequestType, mod func(*protocol.Request)) <-chan protocol.Result {
	ch := make(chan protocol.Result, 2)
	req := protocol.Request{ID: string(typ), Type: typ, Origin: "https://spine.nhs.uk"}
	if mod != nil {
		mod(&req)
	}
	h.m.Handle(req, func(r protocol.Result) { ch <- r })
	return ch
}

func (h *harness) result(ch <-chan protocol.Result) protocol.Result {
	h.t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no result; state %s, events %v", h.state(), h.eventNames())
		return protocol.Result{}
	}
}

func pin(p string) func(*protocol.Request) { return func(r *protocol.Request) { r.PIN = p } }

func (h *harness) insert() {
	h.m.CardEvent(card.Event{Kind: card.Inserted, Token: card.Token{Serial: "1"}})
}
func (h *harness) remove() { h.m.CardEvent(card.Event{Kind: card.Removed}) }

func codeOf(r protocol.Result) protocol.Code {
	if r.Err == nil {
		return ""
	}
	return r.Err.Code
}

// The steps a scenario is made of.
type step func(h *harness)

// insertCard inserts the card and waits until the machine has seen it (it
// may have moved on to the prompt already).
func insertCard(h *harness) {
	h.insert()
	deadline := time.Now().Add(5 * time.Second)
	for h.state() == protocol.StateNoCard && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func removeCard(h *harness) { h.remove(); h.waitState(protocol.StateNoCard) }
func expectState(s protocol.State) step {
	return func(h *harness) { h.waitState(s) }
}
func sendPIN(p string, wantCode protocol.Code) step {
	return func(h *harness) {
		h.waitState(protocol.StateAwaitingPIN)
		if got := codeOf(h.result(h.request(protocol.ReqPIN, pin(p)))); got != wantCode {
			h.t.Fatalf("pin request: code %q, want %q", got, wantCode)
		}
	}
}

func TestMachine_Scenarios(t *testing.T) {
	tests := []struct {
		name      string
		roles     int
		prompt    bool
		setup     func(h *harness)
		steps     []step
		want      protocol.State
		wantCalls []string
		wantEv    []string // events other than state, in order
	}{
		{
			name:  "prompt on insert, one role: the role is chosen automatically",
			roles: 1, prompt: true,
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateLoggedIn)},
			want:  protocol.StateLoggedIn,
			wantCalls: []string{"card.Open", "card.Login", "broker.Activate", "card.Signer", "sign", "card.Logout",
				"broker.Validate", "broker.SelectRole 555254242100"},
			wantEv: []string{"cardInserted", "pinRequired", "loggedIn"},
		},
		{
			name:  "wrong passcode returns to the prompt with attempts left; never retried by itself",
			roles: 1, prompt: true,
			steps: []step{insertCard, sendPIN("000000", ""), expectState(protocol.StateAwaitingPIN),
				func(h *harness) {
					p := h.lastEvent(protocol.EvPINRequired).Body.(protocol.PINPrompt)
					if p.AttemptsLeft != 2 || p.LastError != protocol.CodePINIncorrect {
						h.t.Fatalf("second prompt = %+v", p)
					}
				}},
			want:      protocol.StateAwaitingPIN,
			wantCalls: []string{"card.Open", "card.Login"},
			wantEv:    []string{"cardInserted", "pinRequired", "pinRequired"},
		},
		{
			name:  "three wrong passcodes lock the card and no fourth attempt reaches it",
			roles: 1, prompt: true,
			steps: []step{insertCard, sendPIN("1", ""), sendPIN("2", ""),
				func(h *harness) {
					deadline := time.Now().Add(5 * time.Second)
					for time.Now().Before(deadline) {
						if p := h.lastEvent(protocol.EvPINRequired).Body.(protocol.PINPrompt); p.FinalTry && p.AttemptsLeft == 1 {
							return
						}
						time.Sleep(time.Millisecond)
					}
					h.t.Fatalf("no final-try prompt: %+v", h.lastEvent(protocol.EvPINRequired).Body)
				},
				sendPIN("3", ""), expectState(protocol.StateLocked),
				func(h *harness) {
					if got := codeOf(h.result(h.request(protocol.ReqPIN, pin("123456")))); got != protocol.CodeInvalidState {
						h.t.Fatalf("a pin when locked: %s", got)
					}
					if got := codeOf(h.result(h.request(protocol.ReqGetTicket, nil))); got != protocol.CodePINLocked {
						h.t.Fatalf("getTicket when locked: %s", got)
					}
				}},
			want:      protocol.StateLocked,
			wantCalls: []string{"card.Open", "card.Login", "card.Login", "card.Login"},
			wantEv:    []string{"cardInserted", "pinRequired", "pinRequired", "pinRequired", "error", "pinRequired"},
		},
		{
			name:  "several roles: the user picks one",
			roles: 3, prompt: true,
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateAwaitingRole),
				func(h *harness) {
					if got := codeOf(h.result(h.request(protocol.ReqSelectRole, func(r *protocol.Request) { r.RoleID = "nope" }))); got != protocol.CodeBadRequest {
						h.t.Fatalf("a role the user does not hold: %s", got)
					}
					h.result(h.request(protocol.ReqSelectRole, func(r *protocol.Request) { r.RoleID = "555254242102" }))
				}, expectState(protocol.StateLoggedIn)},
			want: protocol.StateLoggedIn,
			wantCalls: []string{"card.Open", "card.Login", "broker.Activate", "card.Signer", "sign", "card.Logout",
				"broker.Validate", "broker.SelectRole 555254242102"},
			wantEv: []string{"cardInserted", "pinRequired", "roleRequired", "loggedIn"},
		},
		{
			name:  "without prompt on insert the machine waits for a page",
			roles: 1, prompt: false,
			steps:     []step{insertCard, func(h *harness) { time.Sleep(20 * time.Millisecond) }},
			want:      protocol.StateCardPresent,
			wantCalls: []string{"card.Open"},
			wantEv:    []string{"cardInserted"},
		},
		{
			name:  "cancel at the passcode prompt",
			roles: 1, prompt: true,
			steps: []step{insertCard, expectState(protocol.StateAwaitingPIN),
				func(h *harness) { h.result(h.request(protocol.ReqCancel, nil)) }},
			want:      protocol.StateCardPresent,
			wantCalls: []string{"card.Open"},
			wantEv:    []string{"cardInserted", "pinRequired"},
		},
		{
			name:  "nobody answers the prompt: timeout",
			roles: 1, prompt: true,
			steps:     []step{insertCard, expectState(protocol.StateAwaitingPIN), func(h *harness) { h.clock.fireAll() }, expectState(protocol.StateCardPresent)},
			want:      protocol.StateCardPresent,
			wantCalls: []string{"card.Open"},
			// The error event tells the extension to close its window.
			wantEv: []string{"cardInserted", "pinRequired", "error"},
		},
		{
			name:  "the broker is down: failed, and the card was logged out",
			roles: 1, prompt: true,
			setup:     func(h *harness) { h.broker.activateErr = protocol.New(protocol.CodeServerCommFailed) },
			steps:     []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateFailed)},
			want:      protocol.StateFailed,
			wantCalls: []string{"card.Open", "card.Login", "broker.Activate", "card.Logout"},
			wantEv:    []string{"cardInserted", "pinRequired", "error"},
		},
		{
			name:  "the broker refuses the role",
			roles: 1, prompt: true,
			setup: func(h *harness) { h.broker.roleErr = protocol.New(protocol.CodeRoleSelectionFailed) },
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateFailed)},
			want:  protocol.StateFailed,
		},
		{
			name:  "a user with no role: the broker session is ended and the login fails",
			roles: 0, prompt: true,
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateFailed),
				func(h *harness) {
					deadline := time.Now().Add(2 * time.Second)
					for !slices.Contains(h.rec.list(), "broker.Logout") && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
					if !slices.Contains(h.rec.list(), "broker.Logout") {
						h.t.Error("the role-less session was not logged out")
					}
				}},
			want:   protocol.StateFailed,
			wantEv: []string{"cardInserted", "pinRequired", "error"},
		},
		{
			name:  "the card cannot be read",
			roles: 1, prompt: true,
			setup:  func(h *harness) { h.card.openErr = protocol.New(protocol.CodeNoCertFound) },
			steps:  []step{insertCard, expectState(protocol.StateFailed)},
			want:   protocol.StateFailed,
			wantEv: []string{"error"},
		},
		{
			name:  "card removed while logged in: logout at the broker, ticket and card gone",
			roles: 1, prompt: true,
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateLoggedIn), removeCard,
				func(h *harness) {
					deadline := time.Now().Add(2 * time.Second)
					for !slices.Contains(h.rec.list(), "broker.Logout") && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
				}},
			want:   protocol.StateNoCard,
			wantEv: []string{"cardInserted", "pinRequired", "loggedIn", "ticketDestroyed", "cardRemoved"},
		},
		{
			name:  "card removed at the passcode prompt",
			roles: 1, prompt: true,
			steps:  []step{insertCard, expectState(protocol.StateAwaitingPIN), removeCard},
			want:   protocol.StateNoCard,
			wantEv: []string{"cardInserted", "pinRequired", "cardRemoved"},
		},
		{
			name:  "destroyTicket logs out at the broker and forgets the ticket",
			roles: 1, prompt: true,
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateLoggedIn),
				func(h *harness) {
					if r := h.result(h.request(protocol.ReqDestroyTicket, nil)); r.Err != nil {
						h.t.Fatal(r.Err)
					}
					if got := codeOf(h.result(h.request(protocol.ReqGetTicketNoAuth, nil))); got != protocol.CodeTicketNotAvailable {
						h.t.Fatalf("getTicketNoAuth after destroy: %s", got)
					}
				}},
			want:   protocol.StateCardPresent,
			wantEv: []string{"cardInserted", "pinRequired", "loggedIn", "ticketDestroyed"},
		},
		{
			name:  "the session expires",
			roles: 1, prompt: true,
			steps: []step{insertCard, sendPIN("123456", ""), expectState(protocol.StateLoggedIn),
				func(h *harness) { h.clock.fireAll() }, expectState(protocol.StateCardPresent)},
			want:   protocol.StateCardPresent,
			wantEv: []string{"cardInserted", "pinRequired", "loggedIn", "ticketDestroyed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.roles, tt.prompt)
			if tt.setup != nil {
				tt.setup(h)
			}
			for _, s := range tt.steps {
				s(h)
			}
			h.waitState(tt.want)
			if tt.wantCalls != nil && !slices.Equal(h.rec.list(), tt.wantCalls) {
				t.Errorf("calls:\n got  %v\n want %v", h.rec.list(), tt.wantCalls)
			}
			if tt.wantEv != nil && !slices.Equal(h.eventNames(), tt.wantEv) {
				t.Errorf("events:\n got  %v\n want %v", h.eventNames(), tt.wantEv)
			}
		})
	}
}

func TestMachine_ManyRequestsShareOneLogin(t *testing.T) {
	h := newHarness(t, 1, false)
	insertCard(h)
	var results []<-chan protocol.Result
	for range 10 {
		results = append(results, h.request(protocol.ReqGetTicket, nil))
	}
	sendPIN("123456", "")(h)
	for _, ch := range results {
		r := h.result(ch)
		body, ok := r.Body.(protocol.TicketBody)
		if r.Err != nil || !ok || body.Ticket == "" || body.User.UID != "555000111222" {
			t.Fatalf("a waiting request got %+v", r)
		}
	}
	if n := strings.Count(strings.Join(h.rec.list(), ","), "broker.Validate"); n != 1 {
		t.Errorf("%d logins for 10 requests, want 1", n)
	}
}

func TestMachine_OriginChecks(t *testing.T) {
	h := newHarness(t, 1, true)
	insertCard(h)
	sendPIN("123456", "")(h)
	h.waitState(protocol.StateLoggedIn)
	evil := func(r *protocol.Request) { r.Origin = "https://evil.example" }
	for _, typ := range []protocol.RequestType{protocol.ReqGetTicket, protocol.ReqGetTicketNoAuth, protocol.ReqGetNewTicket} {
		if got := codeOf(h.result(h.request(typ, evil))); got != protocol.CodeOriginNotAllowed {
			t.Errorf("%s from a disallowed origin: %q, want ORIGIN_NOT_ALLOWED", typ, got)
		}
	}
	ext := func(r *protocol.Request) { r.Origin = "chrome-extension://jojkkadnmnpkbklmagcdhigmbdlcaoha" }
	if got := codeOf(h.result(h.request(protocol.ReqGetTicket, ext))); got != protocol.CodeOriginNotAllowed {
		t.Errorf("the extension's own origin must never receive the ticket: %q", got)
	}
	r := h.result(h.request(protocol.ReqLogin, ext))
	if _, hasTicket := r.Body.(protocol.TicketBody); r.Err != nil || hasTicket {
		t.Errorf("login from the toolbar: %+v", r)
	}
	r = h.result(h.request(protocol.ReqGetTicketNoAuth, nil))
	if body, ok := r.Body.(protocol.TicketBody); !ok || body.Ticket == "" {
		t.Errorf("an allowed origin gets the ticket: %+v", r)
	}
}

func TestMachine_GetNewTicketForcesNewLogin(t *testing.T) {
	h := newHarness(t, 1, true)
	insertCard(h)
	sendPIN("123456", "")(h)
	h.waitState(protocol.StateLoggedIn)
	ch := h.request(protocol.ReqGetNewTicket, nil)
	sendPIN("123456", "")(h)
	if r := h.result(ch); r.Err != nil {
		t.Fatal(r.Err)
	}
	if n := strings.Count(strings.Join(h.rec.list(), ","), "card.Login"); n != 2 {
		t.Errorf("%d passcode checks, want 2: a new ticket needs the passcode again", n)
	}
}

func TestMachine_BusyWhenTooManyWait(t *testing.T) {
	h := newHarness(t, 1, false)
	h.m.set.MaxWaiters = 2
	insertCard(h)
	h.request(protocol.ReqGetTicket, nil)
	h.request(protocol.ReqGetTicket, nil)
	if got := codeOf(h.result(h.request(protocol.ReqGetTicket, nil))); got != protocol.CodeBusy {
		t.Errorf("third waiter: %q, want BUSY", got)
	}
}

func TestMachine_NoCard(t *testing.T) {
	h := newHarness(t, 1, true)
	if got := codeOf(h.result(h.request(protocol.ReqGetTicket, nil))); got != protocol.CodeCardNotPresent {
		t.Errorf("getTicket with no card: %q", got)
	}
	if got := codeOf(h.result(h.request(protocol.ReqGetTicketNoAuth, nil))); got != protocol.CodeTicketNotAvailable {
		t.Errorf("getTicketNoAuth with no card: %q", got)
	}
}

func TestMachine_PINPad(t *testing.T) {
	h := newHarness(t, 1, true)
	h.card.pinPad = true
	h.card.pin = ""
	insertCard(h)
	h.waitState(protocol.StateLoggedIn)
	if p := h.lastEvent(protocol.EvPINRequired).Body.(protocol.PINPrompt); !p.PINPad || p.TimeoutSeconds != 60 {
		t.Errorf("PIN pad prompt = %+v", p)
	}
}

// TestMachine_PolledRequestsKeepStreamOrder: the fast path for status and
// getTicketNoAuth must never let a poll overtake an earlier request still
// queued for the machine, or a page could get a ticket after asking to
// destroy it.
func TestMachine_PolledRequestsKeepStreamOrder(t *testing.T) {
	h := newHarness(t, 1, true)
	insertCard(h)
	sendPIN("123456", "")(h)
	h.waitState(protocol.StateLoggedIn)
	if r := h.result(h.request(protocol.ReqGetTicketNoAuth, nil)); r.Err != nil {
		t.Fatalf("poll while logged in: %+v", r.Err)
	}
	destroyed := h.request(protocol.ReqDestroyTicket, nil)
	poll := h.request(protocol.ReqGetTicketNoAuth, nil) // sent before the destroy is answered
	if got := codeOf(h.result(poll)); got != protocol.CodeTicketNotAvailable {
		t.Errorf("a poll right after destroyTicket got %q, want TICKET_NOT_AVAILABLE", got)
	}
	h.result(destroyed)
	st := h.result(h.request(protocol.ReqStatus, nil)).Body.(protocol.StatusBody)
	if st.State != protocol.StateCardPresent || st.User != nil {
		t.Errorf("status after destroy: %+v", st)
	}
}

// TestMachine_EventsFollowTheSnapshot: a client that acts on an event must
// never read the state from before it through the polled fast path (the e2e
// fault tests re-insert a card as soon as they see cardRemoved, then poll).
func TestMachine_EventsFollowTheSnapshot(t *testing.T) {
	for range 50 {
		h := newHarness(t, 1, false)
		insertCard(h)
		h.waitState(protocol.StateCardPresent)
		seen := make(chan struct{})
		go func() {
			for !slices.Contains(h.eventNames(), string(protocol.EvCardRemoved)) {
				time.Sleep(50 * time.Microsecond)
			}
			close(seen)
		}()
		h.remove()
		<-seen
		st := h.result(h.request(protocol.ReqStatus, nil)).Body.(protocol.StatusBody)
		if st.Card.Present || st.State != protocol.StateNoCard {
			t.Fatalf("status right after cardRemoved: %+v", st)
		}
		h.cancel()
	}
}

// TestMachine_ShutdownWaitsForTheCardsLogout: a card pulled just before the
// process ends: the machine's stop waits for the broker logout that the
// removal started, instead of losing it with the process.
func TestMachine_ShutdownWaitsForTheCardsLogout(t *testing.T) {
	h := newHarness(t, 1, true)
	h.broker.logoutDelay = 300 * time.Millisecond
	insertCard(h)
	sendPIN("123456", "")(h)
	h.waitState(protocol.StateLoggedIn)
	removeCard(h)
	h.cancel() // the process ends: Run shuts the machine down
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the machine did not stop")
	}
	if !slices.Contains(h.rec.list(), "broker.Logout done") {
		t.Errorf("the machine stopped before the card's broker logout finished: %v", h.rec.list())
	}
}

// TestMachine_PasscodeOfTheWrongForm: a passcode the card cannot take (too
// short, too long, a NUL) is refused with PIN_INVALID before the card is
// asked: no attempt used, the prompt stays, and the right passcode then
// logs in. The refusal says the rule, never the passcode's length.
func TestMachine_PasscodeOfTheWrongForm(t *testing.T) {
	tests := []struct {
		name, pin string
	}{
		{"shorter than the card takes", "12"},
		{"longer than the card takes", "123456789"},
		{"a NUL would cut the C string", "12\x0034"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1, true)
			h.card.minLen, h.card.maxLen = 4, 8
			insertCard(h)
			h.waitState(protocol.StateAwaitingPIN)
			r := h.result(h.request(protocol.ReqPIN, pin(tt.pin)))
			if codeOf(r) != protocol.CodePINInvalid {
				t.Fatalf("pin %q: %+v, want PIN_INVALID", tt.name, r.Err)
			}
			if msg := r.Err.Message; strings.Contains(msg, fmt.Sprintf("%d characters;", len(tt.pin))) || strings.Contains(msg, tt.pin) {
				t.Errorf("the refusal gives the passcode or its length away: %q", msg)
			}
			if got := h.state(); got != protocol.StateAwaitingPIN {
				t.Errorf("state after a refused form: %s, want awaitingPIN (ask again)", got)
			}
			if slices.Contains(h.rec.list(), "card.Login") {
				t.Error("a passcode of the wrong form reached the card")
			}
			sendPIN("123456", "")(h)
			h.waitState(protocol.StateLoggedIn)
		})
	}
}

// TestMachine_StaleSessionIsReadAgainBeforeThePrompt: the card's session
// died with its module's re-initialisation while the card stayed in: the
// next login reads the card again before asking for the passcode, instead
// of failing with CARD_REMOVED after the user typed it.
func TestMachine_StaleSessionIsReadAgainBeforeThePrompt(t *testing.T) {
	h := newHarness(t, 1, false)
	insertCard(h)
	h.waitState(protocol.StateCardPresent)
	deadline := time.Now().Add(5 * time.Second)
	for h.lastEvent(protocol.EvCardInserted).Name == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the probe has read the card
	}
	h.card.mu.Lock()
	h.card.stale = true
	h.card.mu.Unlock()
	res := h.request(protocol.ReqGetTicket, nil)
	sendPIN("123456", "")(h)
	if r := h.result(res); r.Err != nil {
		t.Fatalf("getTicket after the module's re-initialisation: %+v", r.Err)
	}
	opens := 0
	for _, c := range h.rec.list() {
		if c == "card.Open" {
			opens++
		}
	}
	if opens != 2 {
		t.Errorf("the card was opened %d times, want 2 (read again before the prompt): %v", opens, h.rec.list())
	}
}
