// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/browser"
	e2erig "github.com/openidentityagent/oia/e2e/rig"
)

// TestE2EShared: Chromium and Firefox open at once on one desktop (one
// card, one agent) share one session, which belongs to the card, not to a
// browser (docs/architecture.md):
//
//   - a Chromium page and a Firefox page ask at once: one window, in the
//     browser whose page asked first, and one login serves both;
//   - a new Firefox page gets the same ticket with getTicketNoAuth and no
//     window, and the broker saw one authactivate;
//   - Chromium's service worker stopped (as Chromium does when it is idle
//     or the extension updates): the session survives;
//   - Chromium closed: Firefox still has the session; Chromium started
//     again on its profile: getTicketNoAuth answers at once, no window;
//   - both idle six minutes, logged in (OIA_E2E_IDLE changes it; 0 skips):
//     getTicketNoAuth still answers in both, with no window;
//   - a desktop application through the Ticket API library (subtest
//     ticket-api): the pages' ticket; its destroyTicket heard in both
//     browsers; its getTicket prompting in a browser's window that names
//     it, the new session reaching every page;
//   - the card pulled: pages in both browsers hear ticketDestroyed, and the
//     broker saw one logout.
func TestE2EShared(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real browsers")
	}
	r := newRig(t)
	agent, err := e2erig.NewAgent()
	must(t, err)
	// Registered first, so it runs after both browsers have closed.
	t.Cleanup(func() {
		if err := agent.Close(); err != nil {
			t.Errorf("stop the agent: %v", err)
		}
	})
	// The Ticket API on, as a trust with desktop clinical systems sets it.
	ch := r.launchWith(t, "chromium", launchOptions{agent: agent, system: map[string]any{"ticketApiEnabled": true}})
	ff := r.launchWith(t, "firefox", launchOptions{share: ch})
	t.Cleanup(func() { ch.dumpHostLog(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	out := filepath.Join("out", "shared")
	count := func(endpoint string) int {
		n := 0
		for _, e := range r.sim.Log() {
			if e.Endpoint == endpoint && e.Status == 200 {
				n++
			}
		}
		return n
	}
	activated, loggedOut := count(brokersim.EndpointActivate), count(brokersim.EndpointLogout)

	// Chromium's page asks first and gets the window; Firefox's page asks
	// while it is open and shares that login: no window of its own.
	chPage := ch.openApp(t, ctx)
	ffPage := ff.openApp(t, ctx)
	prompt := ch.startLogin(t, ctx, chPage)
	must(t, ffPage.Click(ctx, "#login"))
	ch.passcodeAndRole(t, ctx, prompt, filepath.Join(out, "chromium"))
	ch.expectLoggedIn(t, ctx, chPage)
	ff.expectLoggedIn(t, ctx, ffPage)
	if ff.b.PromptOpen() {
		t.Error("Firefox opened a passcode window for a login under way in Chromium")
	}
	ticket := ch.ticketOf(t, ctx, chPage)

	// A new Firefox page: the same session with getTicketNoAuth, no window.
	ffPage = ff.openApp(t, ctx)
	ff.expectSession(t, ctx, ffPage, ticket, "on a new page")
	if n := count(brokersim.EndpointActivate) - activated; n != 1 {
		t.Errorf("the broker saw %d authactivate calls for one shared login, want 1", n)
	}
	shot(t, ctx, ffPage, out, "firefox.png")

	// Chromium's service worker stops: the extension starts a new one on
	// the next message, and a new relay finds the session.
	if ws, ok := ch.b.(browser.WorkerStopper); ok {
		must(t, ws.StopServiceWorker(ctx))
		ch.expectSession(t, ctx, chPage, ticket, "after its service worker stopped")
	} else {
		t.Error("this Chromium cannot stop its service worker")
	}

	// Chromium closes; Firefox keeps the session.
	must(t, ch.b.Close())
	ff.expectSession(t, ctx, ffPage, ticket, "with Chromium closed")

	// Chromium again, on its profile: the ticket with no window.
	ch2 := r.launchWith(t, "chromium", launchOptions{again: ch})
	ch2Page := ch2.openApp(t, ctx)
	ch2.expectSession(t, ctx, ch2Page, ticket, "started again")
	if n := count(brokersim.EndpointActivate) - activated; n != 1 {
		t.Errorf("the broker saw %d authactivate calls in all, want the 1 login", n)
	}

	// Both browsers idle, logged in, past the five minutes after which
	// Chromium ends an extension's service worker that is only busy with
	// events; then getTicketNoAuth still answers in both, with no window.
	t.Run("idle", func(t *testing.T) {
		idle := 6 * time.Minute
		if v := os.Getenv("OIA_E2E_IDLE"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("OIA_E2E_IDLE=%q: %v", v, err)
			}
			idle = d
		}
		if idle <= 0 {
			t.Skip("OIA_E2E_IDLE=0: the idle check is off")
		}
		t.Logf("both browsers idle for %s, logged in", idle)
		select {
		case <-time.After(idle): // the idle time is what is tested, not a wait for an event
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		ff.expectSession(t, ctx, ffPage, ticket, "after "+idle.String()+" idle")
		ch2.expectSession(t, ctx, ch2Page, ticket, "after "+idle.String()+" idle")
	})

	// A desktop application on the same desktop, through the Ticket API
	// library: the browsers' ticket; its destroyTicket ends the session in
	// both browsers; its getTicket then prompts in a browser's window,
	// naming it, and every page gets the new session.
	t.Run("ticket-api", func(t *testing.T) {
		tatest := ticketAPIClient(t)
		if res := runTicketAPI(t, tatest, agent, "ticket", "noauth", "4096"); res["rc"] != "0x00000000" || res["ticket"] != ticket {
			t.Fatalf("the application's getTicketNoAuth: rc %s, same ticket as the pages' %v", res["rc"], res["ticket"] == ticket)
		}
		for _, p := range []browser.Page{ffPage, ch2Page} {
			must(t, p.Eval(ctx, `document.querySelectorAll('#events li[data-event="ticketDestroyed"], #events li[data-event="ticketChanged"]').forEach((li) => li.remove())`, nil))
		}
		if res := runTicketAPI(t, tatest, agent, "destroy"); res["rc"] != "0x00000000" {
			t.Fatalf("the application's destroyTicket: %v", res)
		}
		for name, p := range map[string]browser.Page{"firefox": ffPage, "chromium": ch2Page} {
			if err := p.WaitFor(ctx, `document.getElementById("session").textContent === "ended" && document.querySelector('#events li[data-event="ticketDestroyed"]') !== null`); err != nil {
				t.Errorf("%s's page did not hear the application's destroyTicket: %v", name, err)
			}
		}
		if !ch.until(ctx, 10*time.Second, func() bool { return !r.sim.TicketLive(ticket) }) {
			t.Error("the broker still knows the ticket after the application's destroyTicket")
		}

		got := make(chan map[string]string, 1)
		go func() { got <- runTicketAPIErr(tatest, agent, "ticket", "get", "4096") }()
		// The browser that attached most recently asks (docs/protocol.md
		// §6.5): either may have, if Firefox's relay reconnected last.
		var who *suite
		if !ch.until(ctx, 20*time.Second, func() bool {
			for _, c := range []*suite{ch2, ff} {
				if c.b.PromptOpen() {
					who = c
					return true
				}
			}
			return false
		}) {
			t.Fatal("no browser opened a passcode window for the application's getTicket")
		}
		prompt, err := who.b.WaitPrompt(ctx)
		must(t, err)
		who.cancelOnCleanup(t, prompt)
		must(t, prompt.WaitFor(ctx, browser.PasscodeReady))
		asker := text(t, ctx, prompt, "#origin")
		if !strings.Contains(asker, "ticketapi-test") || !regexp.MustCompile(`\d+`).MatchString(asker) || strings.Contains(asker, "https://") {
			t.Errorf("the window says it was requested by %q, want the application ticketapi-test and its process id", asker)
		}
		shot(t, ctx, prompt, filepath.Join(out, "ticket-api"), "passcode.png")
		who.passcodeAndRole(t, ctx, prompt, filepath.Join(out, "ticket-api"))
		res := <-got
		if res["rc"] != "0x00000000" || res["ticket"] == "" || res["ticket"] == ticket {
			t.Fatalf("the application's getTicket: rc %s, a ticket %v, a new one %v (%s)", res["rc"], res["ticket"] != "", res["ticket"] != ticket, res["error"])
		}
		ticket = res["ticket"]
		ff.expectSession(t, ctx, ffPage, ticket, "after the application's login")
		ch2.expectSession(t, ctx, ch2Page, ticket, "after the application's login")
	})

	// The card comes out: both browsers' pages hear it, one logout.
	loggedOut = count(brokersim.EndpointLogout)
	for _, p := range []browser.Page{ffPage, ch2Page} {
		must(t, p.Eval(ctx, `document.querySelectorAll('#events li[data-event="ticketDestroyed"]').forEach((li) => li.remove())`, nil))
	}
	must(t, ch.card.Remove())
	for name, p := range map[string]browser.Page{"firefox": ffPage, "chromium": ch2Page} {
		if err := p.WaitFor(ctx, `document.getElementById("session").textContent === "ended" && document.querySelector('#events li[data-event="ticketDestroyed"]') !== null`); err != nil {
			t.Errorf("%s's page did not hear the session end: %v", name, err)
		}
	}
	shot(t, ctx, ffPage, out, "ended-firefox.png")
	if !ch.until(ctx, 10*time.Second, func() bool { return !r.sim.TicketLive(ticket) }) {
		t.Error("the broker still knows the ticket 10 s after the card was pulled")
	}
	if !ch.until(ctx, 5*time.Second, func() bool { return count(brokersim.EndpointLogout)-loggedOut >= 1 }) {
		t.Error("the broker saw no logout")
	}
	if n := count(brokersim.EndpointLogout) - loggedOut; n != 1 {
		t.Errorf("the broker saw %d logouts for one session, want 1", n)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the scenario ran out of time")
	}
}

// ticketAPIClient is the Ticket API's C test program (host/ticketapi's
// tatest, linked with libTicketApi.so) that make built into $OIA_LIB.
func ticketAPIClient(t *testing.T) string {
	t.Helper()
	lib := os.Getenv("OIA_LIB")
	if lib == "" {
		lib = filepath.Join(repoRoot(t), "build", "lib")
	}
	p := filepath.Join(lib, "ticketapi-test")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("the Ticket API's test program is not built (%v): run make ticketapi", err)
	}
	return p
}

// runTicketAPI runs the Ticket API test program against the agent and
// returns its name=value lines.
func runTicketAPI(t *testing.T, bin string, agent *e2erig.Agent, args ...string) map[string]string {
	t.Helper()
	r := runTicketAPIErr(bin, agent, args...)
	if r["error"] != "" {
		t.Fatal(r["error"])
	}
	return r
}

// runTicketAPIErr is runTicketAPI for any goroutine: a failure to run is
// the "error" entry.
func runTicketAPIErr(bin string, agent *e2erig.Agent, args ...string) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), agent.Env())
	out, err := cmd.Output()
	r := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r[k] = v
		}
	}
	if err != nil {
		r["error"] = fmt.Sprintf("%s %s: %v: %s", bin, strings.Join(args, " "), err, out)
	}
	return r
}

// expectSession checks that page gets ticket with getTicketNoAuth and that
// no passcode window is open for it; when says at which step.
func (s *suite) expectSession(t *testing.T, ctx context.Context, page browser.Page, ticket, when string) {
	t.Helper()
	if got := s.ticketOf(t, ctx, page); got != ticket {
		t.Errorf("%s %s: another ticket (or none) than the session's (%d bytes)", s.name, when, len(got))
	}
	if s.b.PromptOpen() {
		t.Errorf("%s %s: a passcode window is open for a session that exists", s.name, when)
	}
}
