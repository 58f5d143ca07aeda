// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/browser"
)

// Extension ids the browsers' enterprise policy names (docs/extension.md).
const (
	chromeExtensionID = "jojkkadnmnpkbklmagcdhigmbdlcaoha"
	geckoExtensionID  = "identity-agent@openidentityagent.org"
)

// policyFile is where each browser reads the machine's enterprise policy
// on Linux, and the policy document that sets the extension's allowed
// origins (storage.managed, docs/extension.md "Policy").
func policyFile(browserName string, origins []string) (path string, doc any) {
	managed := map[string]any{"allowedOrigins": origins}
	if browserName == "chromium" {
		// Debian's chromium reads every *.json here, at start and on change.
		return "/etc/chromium/policies/managed/oia-e2e-test.json",
			map[string]any{"3rdparty": map[string]any{"extensions": map[string]any{chromeExtensionID: managed}}}
	}
	// Debian's firefox-esr reads this file at start (about:policies).
	return "/etc/firefox/policies/policies.json",
		map[string]any{"policies": map[string]any{"3rdparty": map[string]any{"Extensions": map[string]any{geckoExtensionID: managed}}}}
}

// writePolicy writes the machine-wide policy for browserName and removes it
// (and the directories it made) when the test ends, pass or fail. It skips
// when not root, and refuses to overwrite a policy file it did not write.
func writePolicy(t *testing.T, browserName string, origins []string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("the enterprise policy is machine-wide, under /etc: run as root (CI is) to test it")
	}
	path, doc := policyFile(browserName, origins)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists: this machine has a policy of its own, which the test will not overwrite (err %v)", path, err)
	}
	// Make the missing directories, and remember them to remove them.
	var made []string
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		made = append(made, d)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("remove the test policy %s: %v", path, err)
		}
		for _, d := range made { // deepest first
			_ = os.Remove(d)
		}
	})
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	b, err := json.MarshalIndent(doc, "", "  ")
	must(t, err)
	must(t, os.WriteFile(path, b, 0o644))
}

// TestE2EPolicy: the browser's enterprise policy replaces the allow-list,
// and with it the extension registered and with no oia-host, a page on an
// allowed origin learns that the host is missing. The policy is machine-
// wide: this test writes it only while its own browsers start and run, and
// no test of this package runs in parallel with another.
func TestE2EPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real browsers")
	}
	r := newRig(t)
	// The same app reached as localhost is another origin; the policy
	// allows only that one, while the host's own list allows both, so
	// whatever refuses 127.0.0.1 is the extension obeying the policy.
	allowed := localhostURL(t, r.app.URL())
	for _, name := range []string{"chromium", "firefox"} {
		t.Run(name, func(t *testing.T) {
			writePolicy(t, name, []string{allowed})
			t.Run("policy-allow-list", func(t *testing.T) {
				s := r.launchWith(t, name, launchOptions{
					config:   func(cfg map[string]any) { cfg["allowedOrigins"] = []string{r.app.URL(), allowed} },
					readyURL: allowed,
				})
				ctx, out := scenarioStart(t, s, "policy-allow-list")
				policyAllowList(t, ctx, s, allowed, out)
			})
			t.Run("host-missing", func(t *testing.T) {
				s := r.launchWith(t, name, launchOptions{noHost: true, readyURL: allowed})
				ctx, out := scenarioStart(t, s, "host-missing")
				hostMissing(t, ctx, s, allowed, out)
			})
		})
	}
}

// scenarioStart gives a scenario on its own browser its context and a
// fresh screenshot directory.
func scenarioStart(t *testing.T, s *suite, name string) (context.Context, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	t.Cleanup(func() { s.dumpHostLog(t) })
	out := filepath.Join("out", s.name, name)
	must(t, os.RemoveAll(out))
	return ctx, out
}

// localhostURL is u with its host replaced by localhost.
func localhostURL(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	must(t, err)
	return "https://localhost:" + p.Port()
}

// policyAllowList: the policy's allow-list replaces the host's. The app's
// usual origin, which the host allows but the policy does not, gets no
// content script (NO_EXTENSION) and sends the host nothing; the origin the
// policy allows logs in.
func policyAllowList(t *testing.T, ctx context.Context, s *suite, allowed, out string) {
	page := s.openDisallowed(t, ctx, s.app.URL())
	if code := attr(t, ctx, page, "#error", "code"); code != "NO_EXTENSION" {
		t.Errorf("on load of %s, a page the policy excludes: error code %q, want NO_EXTENSION", s.app.URL(), code)
	}
	s.tryLoginDisallowed(t, ctx, page, s.app.URL(), filepath.Join(out, "excluded"), "NO_EXTENSION")

	ok := s.openAt(t, ctx, allowed)
	prompt := s.startLogin(t, ctx, ok)
	if got := text(t, ctx, prompt, "#origin"); got != allowed {
		t.Errorf("passcode window #origin = %q, want %q", got, allowed)
	}
	s.passcodeAndRole(t, ctx, prompt, out)
	s.expectLoggedIn(t, ctx, ok)
	shot(t, ctx, ok, out, "allowed.png")
}

// hostMissing: oia-host is not registered in this profile (no oia install).
// A page the policy allows gets HOST_NOT_FOUND at once, not a hang, and
// the toolbar popup says how to install the host. Firefox refuses to
// navigate a tab to a moz-extension:// page over WebDriver BiDi
// (docs/e2e.md), so there only the page's error is checked.
func hostMissing(t *testing.T, ctx context.Context, s *suite, allowed, out string) {
	page, err := s.b.NewPage(ctx, allowed+"/")
	must(t, err)
	t.Cleanup(func() { _ = page.Close(context.Background()) })
	must(t, page.WaitFor(ctx, `document.documentElement.dataset.ready === "1"`))
	must(t, page.Eval(ctx, `delete document.getElementById("error").dataset.code`, nil))
	must(t, page.Click(ctx, "#login"))
	must(t, page.WaitFor(ctx, `document.getElementById("error").dataset.code !== undefined`))
	if code := attr(t, ctx, page, "#error", "code"); code != "HOST_NOT_FOUND" {
		t.Errorf("getTicket with no host: error code %q (%s), want HOST_NOT_FOUND", code, text(t, ctx, page, "#error"))
	}
	if s.b.PromptOpen() {
		t.Error("a passcode window opened with no host")
	}
	shot(t, ctx, page, out, "app.png")
	if s.name != "chromium" {
		return
	}
	popup, err := s.b.NewPage(ctx, s.b.ExtensionOrigin()+"/popup.html")
	must(t, err)
	t.Cleanup(func() { _ = popup.Close(context.Background()) })
	must(t, popup.WaitFor(ctx, `!document.getElementById("host-missing").hidden && document.getElementById("host-help").textContent !== ""`))
	help := text(t, ctx, popup, "#host-missing")
	for _, want := range []string{"oia install", "oia doctor"} {
		if !strings.Contains(help, want) {
			t.Errorf("the popup's host-missing help %q does not say %q", help, want)
		}
	}
	shot(t, ctx, popup, out, "popup.png")
}

// openAt opens the sample app at origin in a new tab, as openApp does.
func (s *suite) openAt(t *testing.T, ctx context.Context, origin string) browser.Page {
	t.Helper()
	page, err := s.b.NewPage(ctx, origin+"/")
	must(t, err)
	t.Cleanup(func() { _ = page.Close(context.Background()) })
	must(t, page.WaitFor(ctx, `document.documentElement.dataset.ready === "1"`))
	if code := attr(t, ctx, page, "#error", "code"); code != "" {
		t.Fatalf("the app at %s shows an error on load: %s: %s", origin, code, text(t, ctx, page, "#error"))
	}
	return page
}
