// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openidentityagent/oia/e2e/browser"
)

// Run runs the demo with cfg, printing its steps to w: headless (the login
// driven as a person would do it) or headed (a browser window for a
// person). It returns when the demo is over, having stopped everything it
// started; only cfg.Out is left.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	r := newReporter(w)
	parent := ctx
	if cfg.Headless {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	s, err := startStack(ctx, cfg, r)
	if err != nil {
		return err
	}
	defer s.Close()
	if cfg.Headless {
		err = runHeadless(ctx, s, r)
	} else {
		err = runHeaded(ctx, s, r)
	}
	if parent.Err() != nil {
		// Ctrl-C: everything is stopped by the deferred Close.
		if cfg.Headless {
			r.say("interrupted: stopping the browser and the servers")
		}
		return ErrInterrupted
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (the demo is bounded by -timeout %s)", err, cfg.Timeout)
		}
		r.plain(fmt.Sprintf("\nthe host log is %s; the browser's output is in %s", s.hostLog, filepath.Join(cfg.Out, "browser.log")))
		return err
	}
	return nil
}

// ErrInterrupted is returned by [Run] when its context was cancelled (Ctrl-C).
var ErrInterrupted = errors.New("interrupted")

// step runs fn, naming the step in its error.
func step(what string, fn func() error) error {
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// runHeadless launches the browser headless through the e2e harness and
// logs in as the end-to-end tests do: click the page's button, type the
// passcode in the extension's window, pick a role, check what the page and
// the app's server show, then pull the card and watch the page react.
func runHeadless(ctx context.Context, s *stack, r *reporter) (err error) {
	logFile, err := os.Create(filepath.Join(s.cfg.Out, "browser.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	var logMu sync.Mutex
	opts := browser.Options{
		Extension: s.ext,
		Dir:       filepath.Join(s.work, "browser"),
		RootCA:    s.rootPEM,
		Env:       s.env,
		Setup: func(home, profile string) error {
			if err := s.install(ctx, home, profile); err != nil {
				return err
			}
			r.say("registered oia-host for %s with oia install in the fresh profile, and trusted the test root there", s.cfg.Browser)
			return nil
		},
		Log: func(line string) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintln(logFile, line)
		},
	}
	var b browser.Browser
	if s.cfg.Browser == firefox {
		b, err = browser.LaunchFirefox(ctx, opts)
	} else {
		b, err = browser.LaunchChromium(ctx, opts)
	}
	if err != nil {
		return fmt.Errorf("launch %s: %w", s.cfg.Browser, err)
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", s.cfg.Browser, cerr)
		}
	}()
	if err := step("wait for the extension to start", func() error { _, err := b.WaitExtension(ctx); return err }); err != nil {
		return err
	}
	r.say("started %s headless with the extension (%s)", s.cfg.Browser, b.ExtensionOrigin())

	page, err := openReady(ctx, b, s.app.URL())
	if err != nil {
		return err
	}
	r.say("opened the sample app; the extension answers there")

	if err := page.Click(ctx, "#login"); err != nil {
		return fmt.Errorf("click Log in with smartcard: %w", err)
	}
	r.say(`clicked "Log in with smartcard"`)

	var prompt browser.Page
	if err := step("wait for the extension's passcode window", func() error {
		var err error
		if prompt, err = b.WaitPrompt(ctx); err != nil {
			return err
		}
		return prompt.WaitFor(ctx, browser.PasscodeReady)
	}); err != nil {
		return err
	}
	origin, _ := prompt.Text(ctx, "#origin")
	holder, _ := prompt.Text(ctx, "#holder")
	r.say("the extension's window opened: requested by %s, card holder %s", origin, holder)
	if err := step("type the passcode", func() error { return prompt.Type(ctx, "#passcode", passcode) }); err != nil {
		return err
	}
	r.say("typed the passcode in the extension's window, one key event per digit")
	// The field shows the typed passcode masked.
	if err := shot(ctx, prompt, s.cfg.Out, "1-passcode.png", r); err != nil {
		return err
	}
	if err := step("press Log in", func() error { return prompt.Click(ctx, "#submit") }); err != nil {
		return err
	}
	r.say("pressed Log in: oia-host logs in to the card, signs the broker's challenge and asks for the roles")

	var roles []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	}
	if err := step("wait for the role list", func() error {
		// An error (a wrong passcode, a broker failure) shows in the
		// window's error summary instead: report it rather than wait.
		if err := prompt.WaitFor(ctx, `(!document.getElementById("role-section").hidden && !document.getElementById("select-role").disabled) || !document.getElementById("error-summary").hidden`); err != nil {
			return err
		}
		var failed bool
		if err := prompt.Eval(ctx, `!document.getElementById("error-summary").hidden`, &failed); err != nil {
			return err
		}
		if failed {
			msg, _ := prompt.Text(ctx, "#error-summary")
			return fmt.Errorf("the window shows an error: %s", oneLine(msg))
		}
		return prompt.Eval(ctx, `[...document.querySelectorAll("#roles input[name=role]")].map((i) => ({id: i.value, label: document.querySelector('label[for="' + i.id + '"]')?.textContent ?? ""}))`, &roles)
	}); err != nil {
		return err
	}
	if len(roles) == 0 {
		return errors.New("the role list is empty")
	}
	labels := make([]string, len(roles))
	for i, role := range roles {
		labels[i] = role.Label
	}
	r.say("the window lists %d roles: %s", len(roles), strings.Join(labels, "; "))
	if err := shot(ctx, prompt, s.cfg.Out, "2-roles.png", r); err != nil {
		return err
	}
	// The second role, so that a login that took the first by default
	// would show.
	chosen := roles[len(roles)-1]
	if len(roles) > 1 {
		chosen = roles[1]
	}
	if err := step("choose a role", func() error {
		if err := prompt.Click(ctx, `#roles input[value="`+chosen.ID+`"]`); err != nil {
			return err
		}
		return browser.ClickClosing(ctx, b, prompt, "#select-role")
	}); err != nil {
		return err
	}
	r.say("chose role %s; the window closed", chosen.Label)

	if err := step("wait for the page to show the login", func() error {
		return page.WaitFor(ctx, `["confirmed", "mismatch", "error"].includes(document.getElementById("server-check").dataset.status) || document.getElementById("error").textContent !== ""`)
	}); err != nil {
		return err
	}
	if msg, _ := page.Text(ctx, "#error"); msg != "" {
		return fmt.Errorf("the page shows an error: %s", msg)
	}
	user, _ := page.Text(ctx, "#user")
	role, _ := page.Text(ctx, "#role")
	org, _ := page.Text(ctx, "#org")
	r.say("the page shows: %s, %s, %s", user, role, org)
	var status string
	check, _ := page.Text(ctx, "#server-check")
	if err := page.Eval(ctx, `document.getElementById("server-check").dataset.status`, &status); err != nil {
		return err
	}
	if status != "confirmed" {
		return fmt.Errorf("the sample app's server did not confirm the ticket at the broker: %s", check)
	}
	if !strings.Contains(user, cardUID) || !strings.Contains(role, chosen.ID) {
		return fmt.Errorf("the page shows %q, %q; want the card's user %s and the chosen role %s", user, role, cardUID, chosen.ID)
	}
	r.say("the sample app's server confirmed the ticket at the broker: %s", check)
	if err := shot(ctx, page, s.cfg.Out, "3-logged-in.png", r); err != nil {
		return err
	}

	// The ticket, as any page of the site can have it, to follow it at
	// the broker; it is never printed.
	var ticket string
	if err := page.Eval(ctx, `import("/oia.js").then((m) => m.getTicketNoAuth()).then((r) => r.ticket)`, &ticket); err != nil || ticket == "" {
		return fmt.Errorf("getTicketNoAuth on the logged-in page: %v", err)
	}
	if !s.sim.TicketLive(ticket) {
		return errors.New("the broker does not know the page's ticket")
	}

	if err := s.card.Remove(); err != nil {
		return fmt.Errorf("remove the card: %w", err)
	}
	r.say("removed the card from the reader (as oia-vcard remove does)")
	if err := step("wait for the page to see the card go", func() error {
		return page.WaitFor(ctx, `document.querySelector('#events li[data-event="cardRemoved"]') !== null && document.querySelector('#events li[data-event="ticketDestroyed"]') !== null && document.getElementById("session").textContent === "ended"`)
	}); err != nil {
		return err
	}
	r.say("the page saw cardRemoved and ticketDestroyed: the session shows ended and the user is cleared")
	if err := shot(ctx, page, s.cfg.Out, "4-card-removed.png", r); err != nil {
		return err
	}
	if err := step("wait for the broker to end the session", func() error {
		return waitUntil(ctx, func() bool { return !s.sim.TicketLive(ticket) })
	}); err != nil {
		return err
	}
	r.say("the broker no longer accepts the ticket: oia-host logged the session out when the card went")
	hostLog, err := os.ReadFile(s.hostLog)
	if err != nil {
		return fmt.Errorf("read the host log: %w", err)
	}
	if strings.Contains(string(hostLog), ticket) {
		return fmt.Errorf("the ticket appears in the host log %s", s.hostLog)
	}
	r.say("the host log (%d lines) does not contain the ticket", strings.Count(string(hostLog), "\n"))
	r.say("done: a smartcard login in %s with the real extension, oia-host, a virtual card and the broker simulator", s.cfg.Browser)
	r.say("screenshots and the host log are in %s", s.cfg.Out)
	return nil
}

// openReady opens the app and waits until the extension answers there. The
// extension registers its content script for the allow-list only after the
// host's hello, a few seconds after the browser starts; the page asks with
// the page library's isAvailable (docs/protocol.md §2.4) until it answers,
// then a fresh tab loads with the content script in place.
func openReady(ctx context.Context, b browser.Browser, appURL string) (browser.Page, error) {
	var page browser.Page
	err := step("wait for the extension to answer on "+appURL, func() error {
		probe, err := b.NewPage(ctx, appURL+"/")
		if err != nil {
			return err
		}
		defer probe.Close(context.Background())
		if err := probe.Eval(ctx, `(async () => {
			const oia = await import("/oia.js");
			while (!(await oia.isAvailable(250))) { /* each try waits 250 ms for an answer */ }
			return true;
		})()`, nil); err != nil {
			return err
		}
		if page, err = b.NewPage(ctx, appURL+"/"); err != nil {
			return err
		}
		if err := page.WaitFor(ctx, `document.documentElement.dataset.ready === "1"`); err != nil {
			return err
		}
		if msg, _ := page.Text(ctx, "#error"); msg != "" {
			return fmt.Errorf("the app shows an error on load: %s", msg)
		}
		return nil
	})
	return page, err
}

// shot saves a screenshot of p into dir and says where.
func shot(ctx context.Context, p browser.Page, dir, name string, r *reporter) error {
	path := filepath.Join(dir, name)
	if err := p.Screenshot(ctx, path); err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	r.say("  screenshot %s", path)
	return nil
}

// waitUntil checks cond every 50 ms until it holds or ctx ends. It is for
// state that sends no event (the simulator's ticket store).
func waitUntil(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// oneLine joins the whitespace of s into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
