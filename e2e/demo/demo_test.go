// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/browser"
	"github.com/openidentityagent/oia/e2e/sampleapp"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// TestDemoHeadless runs the README's first command, `make demo`, the way it
// runs without a display: the whole login in headless Chromium with the
// real extension, oia-host, virtual card, broker simulator and sample app.
// It shares nothing with the other browser tests: its own servers, card,
// profile and output folder.
func TestDemoHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real browser")
	}
	if err := browser.Available(browser.ChromiumPath); err != nil {
		t.Skipf("%v", err)
	}
	root, err := sampleapp.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(root, "build", "chrome", "manifest.json"), filepath.Join(root, filepath.FromSlash(sampleapp.PageLibraryPath))} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not built: run make extension", p)
		}
	}
	cfg := Config{
		Root:     root,
		Bin:      commands(t, root),
		Module:   vcard.ModulePath(t),
		Browser:  chromium,
		Headless: true,
		Out:      t.TempDir(),
		Timeout:  2 * time.Minute,
	}
	var out bytes.Buffer
	err = Run(context.Background(), cfg, &out)
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("the demo failed: %v", err)
	}

	// The steps the README promises, in order.
	text := out.String()
	at := 0
	for _, want := range []string{
		"started the broker simulator at https://127.0.0.1:",
		"virtual card " + cardUID + " (" + cardName + ") inserted, passcode " + passcode,
		"oia-vcard remove",
		"started the sample NHS app at https://127.0.0.1:",
		`clicked "Log in with smartcard"`,
		"typed the passcode in the extension's window",
		"the window lists 3 roles",
		"chose role Registration Authority Agent",
		"the page shows: Jane Smith (555000111222), Registration Authority Agent (555254242106), OIA TEST TRUST (RX1)",
		"the sample app's server confirmed the ticket at the broker: confirmed: Jane Smith (555000111222)",
		"the page saw cardRemoved and ticketDestroyed",
		"the broker no longer accepts the ticket",
	} {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("the output lacks %q after offset %d", want, at)
		}
		at += i + len(want)
	}

	// Every screenshot is a real PNG of a browser window.
	for _, name := range []string{"1-passcode.png", "2-roles.png", "3-logged-in.png", "4-card-removed.png"} {
		f, err := os.Open(filepath.Join(cfg.Out, name))
		if err != nil {
			t.Errorf("screenshot: %v", err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
			t.Errorf("%s is %dx%d, too small for a browser window", name, b.Dx(), b.Dy())
		}
	}
	// The host wrote its log to the kept folder; the working directory
	// with the card, profile and keys is gone.
	if st, err := os.Stat(filepath.Join(cfg.Out, "host.log")); err != nil || st.Size() == 0 {
		t.Errorf("host log in the output folder: %v", err)
	}
	if i := strings.Index(text, "working directory "); i >= 0 {
		work := strings.Fields(text[i+len("working directory "):])[0]
		if _, err := os.Stat(work); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the working directory %s was not removed: %v", work, err)
		}
	}
}

// TestBrowserFromEnv: $BROWSER picks the demo's browser; anything else
// falls back to Chromium with a warning instead of failing.
func TestBrowserFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env, want string
		warn      bool
		why       string
	}{
		{"", chromium, false, "unset: the default"},
		{"firefox", firefox, false, "the documented BROWSER=firefox"},
		{"/usr/bin/firefox-esr", firefox, false, "a path to Firefox ESR"},
		{"chromium", chromium, false, "named explicitly"},
		{"google-chrome", chromium, false, "a Chrome launcher means the Chromium family"},
		{"xdg-open", chromium, true, "a desktop's generic launcher must not break make demo"},
	} {
		got, warn := browserFromEnv(tc.env)
		if got != tc.want || (warn != "") != tc.warn {
			t.Errorf("%s: browserFromEnv(%q) = %q, warning %q; want %q, warning %v", tc.why, tc.env, got, warn, tc.want, tc.warn)
		}
	}
}

// TestParseFlags: headless is chosen by the display and DEMO_HEADLESS,
// and bad values are refused with a hint.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		env          map[string]string
		wantHeadless bool
		wantErr      bool
		why          string
	}{
		{nil, nil, true, false, "no display: headless"},
		{nil, map[string]string{"DISPLAY": ":0"}, false, false, "a display: a window for a person"},
		{nil, map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, false, false, "Wayland counts as a display"},
		{nil, map[string]string{"DISPLAY": ":0", "DEMO_HEADLESS": "1"}, true, false, "DEMO_HEADLESS wins over the display"},
		{[]string{"-browser", "opera"}, nil, false, true, "only chromium and firefox"},
		{[]string{"-timeout", "0s"}, nil, false, true, "a run must be bounded"},
		{[]string{"extra"}, nil, false, true, "no positional arguments"},
	} {
		var stderr bytes.Buffer
		cfg, err := parseFlags(tc.args, func(k string) string { return tc.env[k] }, &stderr)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.why, err, tc.wantErr)
			continue
		}
		if err == nil && cfg.Headless != tc.wantHeadless {
			t.Errorf("%s: headless = %v, want %v", tc.why, cfg.Headless, tc.wantHeadless)
		}
	}
}

// commands returns the folder holding oia-host and oia: $OIA_BIN when make
// built them, else a temporary folder they are built into.
func commands(t *testing.T, root string) string {
	t.Helper()
	if d := os.Getenv("OIA_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "oia-host")); err == nil {
			return d
		}
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./host/cmd/oia-host", "./installer/cmd/oia")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build oia-host oia: %v\n%s", err, out)
	}
	return dir
}
