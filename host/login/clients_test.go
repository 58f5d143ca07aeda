// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/protocol"
)

// client is an attached client that records its events.
type client struct {
	h  *harness
	c  *Client
	mu sync.Mutex
	ev []protocol.Event
}

// attach adds a client of kind; the harness's built-in client is detached
// first so that only the test's clients take part.
func (h *harness) attach(kind ClientKind, name string) *client {
	h.m.solo.Close()
	tc := &client{h: h}
	tc.c = h.m.Attach(ClientInfo{Kind: kind, Name: name, PID: 4242, Exe: "/opt/pas/" + name}, func(ev protocol.Event) {
		tc.mu.Lock()
		tc.ev = append(tc.ev, ev)
		tc.mu.Unlock()
	})
	return tc
}

func (tc *client) request(typ protocol.RequestType, mod func(*protocol.Request)) <-chan protocol.Result {
	ch := make(chan protocol.Result, 2)
	req := protocol.Request{ID: string(typ), Type: typ}
	if tc.c.info.Kind == Browser {
		req.Origin = "https://spine.nhs.uk"
	}
	if mod != nil {
		mod(&req)
	}
	tc.c.Handle(req, func(r protocol.Result) { ch <- r })
	return ch
}

func (tc *client) do(typ protocol.RequestType, mod func(*protocol.Request)) protocol.Result {
	tc.h.t.Helper()
	return tc.h.result(tc.request(typ, mod))
}

func (tc *client) names() []string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	var l []string
	for _, ev := range tc.ev {
		if ev.Name != protocol.EvState {
			l = append(l, string(ev.Name))
		}
	}
	return l
}

func (tc *client) has(name protocol.EventName) bool { return slices.Contains(tc.names(), string(name)) }

// waitEvent waits until the client has received an event called name.
func (tc *client) waitEvent(name protocol.EventName) protocol.Event {
	tc.h.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tc.mu.Lock()
		for _, ev := range tc.ev {
			if ev.Name == name {
				tc.mu.Unlock()
				return ev
			}
		}
		tc.mu.Unlock()
	}
	tc.h.t.Fatalf("client %s never got %s; it got %v", tc.c.info.Name, name, tc.names())
	return protocol.Event{}
}

func (h *harness) logins() int {
	return strings.Count(strings.Join(h.rec.list(), ","), "broker.Activate")
}

func TestClients_TwoBrowsersShareOneLogin(t *testing.T) {
	h := newHarness(t, 1, false)
	a, b := h.attach(Browser, "chrome"), h.attach(Browser, "firefox")
	insertCard(h)
	h.waitState(protocol.StateCardPresent)
	ra := a.request(protocol.ReqGetTicket, nil)
	h.waitState(protocol.StateAwaitingPIN)
	a.waitEvent(protocol.EvPINRequired)
	rb := b.request(protocol.ReqGetTicket, nil) // shares the login under way

	if b.has(protocol.EvPINRequired) {
		t.Error("the second browser was asked for the passcode too")
	}
	if st := b.do(protocol.ReqStatus, nil).Body.(protocol.StatusBody); st.PIN != nil {
		t.Error("the second browser's status carries the prompt, so it would open a window of its own")
	}
	if code := codeOf(b.do(protocol.ReqPIN, pin("123456"))); code != protocol.CodeInvalidState {
		t.Errorf("a passcode from the browser not asked: %q, want INVALID_STATE", code)
	}
	if code := codeOf(a.do(protocol.ReqPIN, pin("123456"))); code != "" {
		t.Fatalf("the passcode from the browser asked: %q", code)
	}
	for name, ch := range map[string]<-chan protocol.Result{"chrome": ra, "firefox": rb} {
		if r := h.result(ch); r.Err != nil || r.Body.(protocol.TicketBody).Ticket == "" {
			t.Errorf("%s's getTicket: %+v", name, r)
		}
	}
	if r := b.do(protocol.ReqGetTicketNoAuth, nil); r.Err != nil {
		t.Errorf("getTicketNoAuth in the other browser: %v", r.Err)
	}
	if n := h.logins(); n != 1 {
		t.Errorf("%d broker logins, want 1", n)
	}
	a.waitEvent(protocol.EvLoggedIn)
	b.waitEvent(protocol.EvLoggedIn)

	removeCard(h)
	for _, c := range []*client{a, b} {
		if ev := c.waitEvent(protocol.EvTicketDestroyed); ev.Body.(protocol.TicketDestroyed).Reason != protocol.ReasonCardRemoved {
			t.Errorf("%s: ticketDestroyed %+v", c.c.info.Name, ev.Body)
		}
	}
}

func TestClients_PromptMovesWhenPrompterLeaves(t *testing.T) {
	tests := []struct {
		name      string
		bWaits    bool
		wantState protocol.State
		reason    string
	}{
		{"another browser waits: it is asked", true, protocol.StateAwaitingPIN, "the login still has someone to serve"},
		{"nobody else waits: the login is cancelled", false, protocol.StateCardPresent, "a prompt nobody can answer would hold the card"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, false)
			a, b := h.attach(Browser, "chrome"), h.attach(Browser, "firefox")
			insertCard(h)
			h.waitState(protocol.StateCardPresent)
			a.request(protocol.ReqGetTicket, nil)
			var rb <-chan protocol.Result
			h.waitState(protocol.StateAwaitingPIN)
			if tc.bWaits {
				rb = b.request(protocol.ReqGetTicket, nil)
			}
			a.c.Close()
			h.waitState(tc.wantState)
			if !tc.bWaits {
				return
			}
			b.waitEvent(protocol.EvPINRequired)
			if code := codeOf(b.do(protocol.ReqPIN, pin("123456"))); code != "" {
				t.Fatalf("pin from the new prompter: %q (%s)", code, tc.reason)
			}
			if r := h.result(rb); r.Err != nil {
				t.Fatalf("the remaining browser's getTicket: %v", r.Err)
			}
		})
	}
}

func TestClients_DesktopApplications(t *testing.T) {
	tests := []struct {
		name     string
		allowed  bool
		browser  bool
		wantCode protocol.Code
		reason   string
	}{
		{"ticket api off", false, true, protocol.CodeTicketAPIDisabled, "off by default: only the system configuration turns it on"},
		{"no browser to ask", true, false, protocol.CodePromptUnavailable, "a login needs a prompt, and no client can show one"},
		{"a browser asks for it", true, true, "", "the browser's window asks, naming the application"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, false)
			h.m.set.TicketAPI = func(exe string) bool { return tc.allowed && exe == "/opt/pas/pas.exe" }
			var br *client
			if tc.browser {
				br = h.attach(Browser, "chrome")
			}
			app := h.attach(App, "pas.exe")
			insertCard(h)
			h.waitState(protocol.StateCardPresent)
			ch := app.request(protocol.ReqGetTicket, nil)
			if tc.wantCode != "" {
				if code := codeOf(h.result(ch)); code != tc.wantCode {
					t.Fatalf("app getTicket: %q, want %q (%s)", code, tc.wantCode, tc.reason)
				}
				return
			}
			ev := br.waitEvent(protocol.EvPINRequired)
			if p := ev.Body.(protocol.PINPrompt); p.App == nil || p.App.Name != "pas.exe" || p.App.PID != 4242 {
				t.Errorf("the prompt names %+v, want pas.exe (4242)", p.App)
			}
			if code := codeOf(app.do(protocol.ReqPIN, pin("123456"))); code != protocol.CodeInvalidState {
				t.Errorf("a passcode from the application: %q, want INVALID_STATE: it never sees the prompt", code)
			}
			if code := codeOf(br.do(protocol.ReqPIN, pin("123456"))); code != "" {
				t.Fatal(code)
			}
			if r := h.result(ch); r.Err != nil || r.Body.(protocol.TicketBody).Ticket == "" {
				t.Fatalf("app getTicket: %+v", r)
			}
		})
	}
}

func TestClients_TerminalNeverGetsTheTicket(t *testing.T) {
	h := newHarness(t, 1, false)
	term := h.attach(Terminal, "oia")
	insertCard(h)
	h.waitState(protocol.StateCardPresent)
	if code := codeOf(term.do(protocol.ReqGetTicket, nil)); code != protocol.CodeOriginNotAllowed {
		t.Errorf("terminal getTicket: %q, want ORIGIN_NOT_ALLOWED", code)
	}
	ch := term.request(protocol.ReqLogin, nil)
	term.waitEvent(protocol.EvPINRequired)
	if code := codeOf(term.do(protocol.ReqPIN, pin("123456"))); code != "" {
		t.Fatal(code)
	}
	r := h.result(ch)
	if s, ok := r.Body.(protocol.Session); r.Err != nil || !ok || s.User == nil {
		t.Fatalf("terminal login: %+v", r)
	}
	if code := codeOf(term.do(protocol.ReqGetTicketNoAuth, nil)); code != protocol.CodeOriginNotAllowed {
		t.Errorf("terminal getTicketNoAuth: %q, want ORIGIN_NOT_ALLOWED", code)
	}
}

func TestClients_InsertPromptGoesToTheNewestWillingBrowser(t *testing.T) {
	tests := []struct {
		name     string
		bOptsOut bool
		want     string
		reason   string
	}{
		{"both willing", false, "firefox", "the browser that connected most recently is the one in use"},
		{"newest opted out by policy", true, "chrome", "a browser whose policy turns the prompt off is skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, true)
			a, b := h.attach(Browser, "chrome"), h.attach(Browser, "firefox")
			a.do(protocol.ReqHello, nil)
			off := false
			if tc.bOptsOut {
				b.do(protocol.ReqHello, func(r *protocol.Request) { r.Settings = &protocol.SettingsOverride{PromptOnCardInsert: &off} })
			}
			insertCard(h)
			h.waitState(protocol.StateAwaitingPIN)
			asked, other := a, b
			if tc.want == "firefox" {
				asked, other = b, a
			}
			asked.waitEvent(protocol.EvPINRequired)
			if other.has(protocol.EvPINRequired) {
				t.Errorf("%s was asked too (%s)", other.c.info.Name, tc.reason)
			}
		})
	}
}

func TestClients_HelloOverridesStayWithTheirClient(t *testing.T) {
	h := newHarness(t, 1, false)
	a, b := h.attach(Browser, "chrome"), h.attach(Browser, "firefox")
	thirty := 30
	ra := a.do(protocol.ReqHello, func(r *protocol.Request) { r.Settings = &protocol.SettingsOverride{PINTimeoutSeconds: &thirty} })
	rb := b.do(protocol.ReqHello, nil)
	if got := ra.Body.(protocol.HelloBody).Settings.PINTimeoutSeconds; got != 30 {
		t.Errorf("chrome's timeout %d, want its own 30", got)
	}
	if got := rb.Body.(protocol.HelloBody).Settings.PINTimeoutSeconds; got != 60 {
		t.Errorf("firefox's timeout %d, want the host's 60: another browser's policy must not change it", got)
	}
}

func TestClients_DetachedClientsRequestsAreDropped(t *testing.T) {
	h := newHarness(t, 1, false)
	a, b := h.attach(Browser, "chrome"), h.attach(Browser, "firefox")
	insertCard(h)
	h.waitState(protocol.StateCardPresent)
	b.request(protocol.ReqGetTicket, nil)
	h.waitState(protocol.StateAwaitingPIN)
	ra := a.request(protocol.ReqGetTicket, nil)
	a.c.Close()
	b.waitEvent(protocol.EvPINRequired)
	b.do(protocol.ReqPIN, pin("123456"))
	h.waitState(protocol.StateLoggedIn)
	select {
	case r := <-ra:
		t.Fatalf("a closed client's request was answered: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	if got := h.m.Clients(); len(got) != 1 || got[0].Name != "firefox" {
		t.Errorf("clients %+v, want firefox alone", got)
	}
}

// TestStatus_IdentityByOrigin: a browser's status names the user only to a
// page on the agent's own allow-list (or to the extension itself, which
// sends no origin); the snapshot's fast path and the machine's agree.
func TestStatus_IdentityByOrigin(t *testing.T) {
	h := newHarness(t, 1, true)
	b := h.loggedInBrowser()
	tests := []struct {
		name, origin string
		want         protocol.Code
	}{
		{"an allowed page", "https://spine.nhs.uk", ""},
		{"the extension's own pages send no origin", "", ""},
		{"the extension's popup", "chrome-extension://jojkkadnmnpkbklmagcdhigmbdlcaoha", ""},
		{"a page a browser policy allows but the agent does not", "https://app.example.org", protocol.CodeOriginNotAllowed},
		{"a lookalike", "https://spine.nhs.uk.evil.example", protocol.CodeOriginNotAllowed},
	}
	for _, tt := range tests {
		for _, path := range []string{"first", "again (the snapshot)"} {
			r := b.do(protocol.ReqStatus, func(r *protocol.Request) { r.Origin = tt.origin })
			if got := codeOf(r); got != tt.want {
				t.Errorf("%s, %s: code %q, want %q", tt.name, path, got, tt.want)
				continue
			}
			if tt.want == "" {
				if st := r.Body.(protocol.StatusBody); st.User == nil || st.User.UID == "" {
					t.Errorf("%s, %s: no session in %+v", tt.name, path, st)
				}
			}
		}
	}
}

// TestRelease_FramesRefused: with the system configuration's allowFrames
// locked off (Settings.FramesRefused), a request the extension marks as
// from a frame gets no ticket and no identity, whatever a browser policy
// allowed; the same request from the tab's top document does.
func TestRelease_FramesRefused(t *testing.T) {
	for _, refused := range []bool{true, false} {
		h := newHarness(t, 1, true)
		h.m.set.FramesRefused = refused // before any request reaches the machine
		b := h.loggedInBrowser()
		for _, typ := range []protocol.RequestType{protocol.ReqGetTicketNoAuth, protocol.ReqStatus} {
			want := protocol.Code("")
			if refused {
				want = protocol.CodeOriginNotAllowed
			}
			if got := codeOf(b.do(typ, func(r *protocol.Request) { r.Frame = true })); got != want {
				t.Errorf("frames refused %v, %s from a frame: %q, want %q", refused, typ, got, want)
			}
			if got := codeOf(b.do(typ, nil)); got != "" {
				t.Errorf("frames refused %v, %s from the top document: %q", refused, typ, got)
			}
		}
	}
}

// loggedInBrowser attaches a browser, inserts the card and logs in through
// it, as the only client.
func (h *harness) loggedInBrowser() *client {
	h.t.Helper()
	b := h.attach(Browser, "jojkkadnmnpkbklmagcdhigmbdlcaoha")
	insertCard(h)
	h.waitState(protocol.StateAwaitingPIN)
	if r := b.do(protocol.ReqPIN, pin("123456")); r.Err != nil {
		h.t.Fatalf("pin: %+v", r.Err)
	}
	h.waitState(protocol.StateLoggedIn)
	return b
}

// TestAttachHello_NoEventLost: a client attached while the card is being
// read either hears of it in its hello's state or gets cardInserted after:
// never neither (the hello and the subscription are one step).
func TestAttachHello_NoEventLost(t *testing.T) {
	for i := range 100 {
		h := newHarness(t, 1, false)
		h.m.solo.Close()
		var mu sync.Mutex
		var hello *protocol.HelloBody
		var inserted bool
		go h.insert()
		h.m.AttachHello(ClientInfo{Kind: Browser, Name: "x"}, func(ev protocol.Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Name == protocol.EvCardInserted {
				if hello == nil {
					t.Errorf("run %d: an event before the hello", i)
				}
				inserted = true
			}
		}, func(b protocol.HelloBody) {
			mu.Lock()
			hello = &b
			mu.Unlock()
		})
		h.waitState(protocol.StateCardPresent)
		deadline := time.Now().Add(2 * time.Second)
		for {
			mu.Lock()
			ok := hello != nil && (hello.State != protocol.StateNoCard || inserted)
			mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: the hello said %s and no cardInserted came", i, hello.State)
			}
			time.Sleep(time.Millisecond)
		}
		h.cancel()
	}
}
