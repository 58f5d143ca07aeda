// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestE2ETimeout: nobody answers the passcode window. With the host's
// pinTimeoutSeconds at its minimum (10 s; the minimum is not lowered for
// the test), the page's getTicket fails with TIMEOUT once the window has
// waited that long, and the window closes. Each browser gets its own start,
// since the suite's host keeps the default of 120 s.
func TestE2ETimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real browsers")
	}
	r := newRig(t)
	for _, name := range []string{"chromium", "firefox"} {
		t.Run(name, func(t *testing.T) {
			s := r.launchWith(t, name, launchOptions{config: func(cfg map[string]any) { cfg["pinTimeoutSeconds"] = 10 }})
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			defer s.dumpHostLog(t)
			out := filepath.Join("out", name, "timeout")
			must(t, os.RemoveAll(out))
			noAnswer(t, ctx, s, out)
		})
	}
}

// noAnswer opens the passcode window and leaves it: the page gets TIMEOUT
// no sooner than the configured 10 s, and the window closes by itself.
func noAnswer(t *testing.T, ctx context.Context, s *suite, out string) {
	page := s.openApp(t, ctx)
	start := time.Now()
	prompt := s.startLogin(t, ctx, page)
	shot(t, ctx, prompt, out, "passcode.png")
	must(t, page.WaitFor(ctx, `document.getElementById("error").dataset.code !== undefined`))
	waited := time.Since(start)
	if code := attr(t, ctx, page, "#error", "code"); code != "TIMEOUT" {
		t.Errorf("error code %q (%s), want TIMEOUT", code, text(t, ctx, page, "#error"))
	}
	// A lower bound only: the request cannot fail before the host's own
	// timer has run.
	if waited < 10*time.Second {
		t.Errorf("TIMEOUT after %s, before the configured 10 s", waited.Round(time.Millisecond))
	}
	must(t, s.b.WaitPromptClosed(ctx))
	if got := text(t, ctx, page, "#session"); got == "active" {
		t.Error("the session shows active after a timed-out login")
	}
	shot(t, ctx, page, out, "app.png")
	t.Logf("%s: TIMEOUT reached the page %s after the click", s.name, waited.Round(time.Millisecond))
}
