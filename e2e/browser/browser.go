// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package browser launches and drives the real browsers of the end-to-end
// tests: Debian's Chromium through the DevTools protocol (chromedp) and
// Firefox ESR through WebDriver BiDi (a small client over
// github.com/coder/websocket), each with the OIA extension loaded, a
// throw-away profile and HOME, and the test root trusted through an NSS
// database, never by turning certificate checks off.
//
// # Shape
//
// [LaunchChromium] and [LaunchFirefox] return a [Browser]; a scenario opens
// a [Page] per tab with [Browser.NewPage], and waits for the extension's
// passcode window with [Browser.WaitPrompt], which returns that window as a
// [Page] too. A [Page] evaluates JavaScript (awaiting promises), waits for
// a condition, clicks, types with real key events and takes screenshots.
//
// Launch a browser once per test suite and a fresh page per scenario: a
// Chromium start costs ≈0.3 s and a Firefox one ≈2 s on two cores
// (docs/e2e.md).
//
// # Environment
//
// Both browsers pass their environment to the native host they start, so
// [Options].Env carries the host's settings (OIA_CONFIG, OIA_VCARD_DIR).
// HOME is always a fresh directory under [Options].Dir, so that nothing
// reads or writes the real user's profile, NSS database or crash reports.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Browser is a running browser with the extension loaded. Its methods are
// safe for concurrent use, except that one [Page] must not be driven from
// two goroutines at once.
type Browser interface {
	// Name is "chromium" or "firefox".
	Name() string
	// ExtensionOrigin is the loaded extension's origin:
	// chrome-extension://<id> or moz-extension://<uuid>.
	ExtensionOrigin() string
	// NewPage opens a new tab on url and waits for it to load.
	NewPage(ctx context.Context, url string) (Page, error)
	// WaitPrompt waits for the extension's passcode window
	// (<ExtensionOrigin>/prompt.html) to open, or returns one that opened
	// since the last call and was not yet returned, and waits for its
	// document to load.
	WaitPrompt(ctx context.Context) (Page, error)
	// PromptOpen reports whether a passcode window is open now, whether
	// or not WaitPrompt has returned it.
	PromptOpen() bool
	// WaitPromptClosed waits until no passcode window is open.
	WaitPromptClosed(ctx context.Context) error
	// WaitExtension waits until the extension's background (service worker
	// or background page) runs, and returns its URL.
	WaitExtension(ctx context.Context) (string, error)
	// Close stops the browser and waits for it to exit; a test may close
	// it early and its cleanup close it again.
	Close() error
}

// PasscodeReady is true in the extension's passcode window once its
// passcode field shows and takes input: the window ignores keys for a
// moment after it opens (keys meant for the page must not become a
// passcode attempt), then sets data-input-ready on its document.
const PasscodeReady = `!document.getElementById("pin-section").hidden && document.documentElement.dataset.inputReady === "1"`

// WorkerStopper is a [Browser] that can stop its extension's service
// worker on demand (Chromium; Firefox's MV3 background is an event page).
type WorkerStopper interface {
	StopServiceWorker(ctx context.Context) error
}

// Page is one tab or window.
type Page interface {
	// URL is the document's URL when the page was opened or found.
	URL() string
	// Eval evaluates a JavaScript expression, awaits it when it is a
	// promise, and decodes its JSON value into out (which may be nil).
	Eval(ctx context.Context, expr string, out any) error
	// WaitFor waits until the JavaScript expression is truthy.
	WaitFor(ctx context.Context, expr string) error
	// Click clicks the element matched by the CSS selector as a mouse
	// would.
	Click(ctx context.Context, selector string) error
	// Type focuses the element matched by the CSS selector and types text
	// with key events, as a person would.
	Type(ctx context.Context, selector, text string) error
	// Text returns the textContent of the element matched by the CSS
	// selector.
	Text(ctx context.Context, selector string) (string, error)
	// Screenshot saves a PNG of the page's viewport to path (made with its
	// directories).
	Screenshot(ctx context.Context, path string) error
	// Close closes the tab or window. Closing one that is already gone is
	// not an error.
	Close(ctx context.Context) error
}

// Options configure a browser launch.
type Options struct {
	// Exec is the browser executable; default /usr/bin/chromium or
	// /usr/bin/firefox-esr (see [ChromiumPath], [FirefoxPath]).
	Exec string
	// Extension is the unpacked extension directory (build/chrome or
	// build/firefox). Required.
	Extension string
	// Dir is a fresh directory that the browser's profile and HOME are
	// made under. Required.
	Dir string
	// RootCA is a PEM file of the root certificate that the browser must
	// trust for the test sites (the test PKI's root). Optional.
	RootCA string
	// Env are extra environment variables (KEY=value) for the browser and
	// therefore for the native host it starts.
	Env []string
	// Setup, when set, is called with the new HOME and profile directory
	// before the browser starts: to register the native host there
	// (oia install --home / --chromium-user-data-dir).
	Setup func(home, profile string) error
	// Log receives the browser's stderr lines (nil discards them).
	Log func(line string)
	// StartTimeout bounds the start; default 60 s.
	StartTimeout time.Duration
}

// ErrNotInstalled is returned (wrapped) when the browser executable is
// missing; tests skip on it.
var ErrNotInstalled = errors.New("browser not installed")

// Default executables (Debian packages chromium and firefox-esr).
const (
	ChromiumPath = "/usr/bin/chromium"
	FirefoxPath  = "/usr/bin/firefox-esr"
)

// Available reports whether the executable exists and runs, with an error
// wrapping [ErrNotInstalled] that names the Debian package when it does not.
func Available(exe string) error {
	if _, err := exec.LookPath(exe); err != nil {
		pkg := filepath.Base(exe)
		return fmt.Errorf("%w: %s not found (install the Debian package %s: scripts/deps.sh)", ErrNotInstalled, exe, pkg)
	}
	return nil
}

func (o *Options) check(defaultExec string) error {
	if o.Exec == "" {
		o.Exec = defaultExec
	}
	if err := Available(o.Exec); err != nil {
		return err
	}
	if o.Dir == "" {
		return errors.New("browser: no directory for the profile: set Options.Dir")
	}
	if o.Extension == "" {
		return errors.New("browser: no extension directory: set Options.Extension")
	}
	abs, err := filepath.Abs(o.Extension)
	if err != nil {
		return err
	}
	o.Extension = abs
	if _, err := os.Stat(filepath.Join(o.Extension, "manifest.json")); err != nil {
		return fmt.Errorf("browser: %s holds no manifest.json: build the extension with make extension", o.Extension)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	return nil
}

// prepare makes HOME and the profile directory under o.Dir, trusts the
// root CA in the right NSS database, and runs o.Setup.
func (o *Options) prepare(ctx context.Context, profile string, nssDir func(home, profile string) string) (home string, err error) {
	home = filepath.Join(o.Dir, "home")
	for _, d := range []string{home, profile} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
	}
	if o.RootCA != "" {
		if err := TrustRoot(ctx, nssDir(home, profile), o.RootCA); err != nil {
			return "", err
		}
	}
	if o.Setup != nil {
		if err := o.Setup(home, profile); err != nil {
			return "", fmt.Errorf("browser: setup: %w", err)
		}
	}
	return home, nil
}

// environ returns the browser's environment: ours with HOME replaced and
// o.Env added (later entries win).
func (o *Options) environ(home string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if len(kv) >= 5 && kv[:5] == "HOME=" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home)
	// Crash reports and caches go under the temporary HOME too.
	env = append(env, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	return append(env, o.Env...)
}
