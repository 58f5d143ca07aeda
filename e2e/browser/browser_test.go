// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
)

// probeExtension writes the probe extension (testdata/probe) with a
// manifest for browserName into a temporary directory. For Chromium it
// gets a fresh key, and the id that key implies is returned.
func probeExtension(t *testing.T, browserName string) (dir, chromeID string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"background.js", "content.js", "prompt.html", "prompt.js"} {
		b, err := os.ReadFile(filepath.Join("testdata", "probe", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := map[string]any{
		"manifest_version": 3,
		"name":             "OIA harness probe",
		"version":          "1.0.0",
		"content_scripts": []any{map[string]any{
			"matches": []string{"https://127.0.0.1/*"}, "js": []string{"content.js"}, "run_at": "document_start",
		}},
	}
	switch browserName {
	case "chromium":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		m["key"] = base64.StdEncoding.EncodeToString(der)
		m["background"] = map[string]any{"service_worker": "background.js"}
		chromeID, err = chromeExtensionID(writeManifest(t, dir, m))
		if err != nil {
			t.Fatal(err)
		}
	case "firefox":
		m["background"] = map[string]any{"scripts": []string{"background.js"}}
		m["browser_specific_settings"] = map[string]any{"gecko": map[string]any{"id": "probe@e2e.openidentityagent.org", "strict_min_version": "128.0"}}
		writeManifest(t, dir, m)
	}
	return dir, chromeID
}

func writeManifest(t *testing.T, dir string, m map[string]any) string {
	t.Helper()
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// site is an HTTPS server with a certificate from a fresh test PKI, and the
// PEM file of that PKI's root.
func site(t *testing.T) (url, rootPEM string) {
	t.Helper()
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.IssueServer("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>probe site</title><p id="hello">served over verified TLS</p>`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-site check fails handshakes on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	rootPEM = filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(rootPEM, testpki.CertPEM(pki.Root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv.URL, rootPEM
}

// outDir is where screenshots of this run go (git-ignored).
func outDir(browserName, scenario string) string {
	return filepath.Join("..", "out", browserName, scenario)
}

func launch(t *testing.T, ctx context.Context, browserName, ext, rootPEM string) Browser {
	t.Helper()
	o := Options{Extension: ext, Dir: t.TempDir(), RootCA: rootPEM, Log: func(line string) { t.Logf("%s: %s", browserName, line) }}
	var b Browser
	var err error
	switch browserName {
	case "chromium":
		b, err = LaunchChromium(ctx, o)
	case "firefox":
		b, err = LaunchFirefox(ctx, o)
	}
	if errors.Is(err, ErrNotInstalled) {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// TestHarness checks, in each real browser, every piece the scenarios build
// on: the browser starts with an extension loaded; a page on an HTTPS site
// of the test PKI loads with the certificate verified (the root trusted in
// NSS, no certificate errors ignored); the content script runs there; the
// extension's own popup window is found and driven with real key and
// mouse events; screenshots are written.
func TestHarness(t *testing.T) {
	for _, name := range []string{"chromium", "firefox"} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("starts a real browser")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			ext, chromeID := probeExtension(t, name)
			url, rootPEM := site(t)
			b := launch(t, ctx, name, ext, rootPEM)

			if name == "chromium" && b.ExtensionOrigin() != "chrome-extension://"+chromeID {
				t.Fatalf("ExtensionOrigin() = %q, want chrome-extension://%s", b.ExtensionOrigin(), chromeID)
			}
			bg, err := b.WaitExtension(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(bg, b.ExtensionOrigin()+"/") {
				t.Fatalf("background %q is not under %s", bg, b.ExtensionOrigin())
			}

			page, err := b.NewPage(ctx, url+"/")
			if err != nil {
				t.Fatal(err)
			}
			defer page.Close(ctx)
			var href string
			if err := page.Eval(ctx, "location.href", &href); err != nil {
				t.Fatal(err)
			}
			// A certificate error would show the browser's error page
			// instead, at another URL and without the site's text.
			if href != url+"/" {
				t.Fatalf("page is at %q, want %q (certificate not trusted?)", href, url+"/")
			}
			if got, err := page.Text(ctx, "#hello"); err != nil || got != "served over verified TLS" {
				t.Fatalf("#hello = %q, %v", got, err)
			}
			// The same browser refuses a site whose root it does not
			// trust: verification is on, the test root is what passes.
			otherURL, _ := site(t)
			if other, err := b.NewPage(ctx, otherURL+"/"); err == nil {
				got, _ := other.Text(ctx, "#hello")
				_ = other.Close(ctx)
				if got == "served over verified TLS" {
					t.Fatal("a site of an untrusted authority loaded: certificates are not verified")
				}
			}
			if err := page.WaitFor(ctx, `document.documentElement.dataset.probe === "1"`); err != nil {
				t.Fatalf("content script did not run: %v", err)
			}

			// The page asks; the background opens its window.
			var reply struct {
				OK     bool   `json:"ok"`
				Origin string `json:"origin"`
				Error  string `json:"error"`
			}
			if err := page.Eval(ctx, `new Promise((resolve) => {
				window.addEventListener("message", (ev) => { if (ev.data?.probeReply) resolve(ev.data.probeReply); });
				window.postMessage({ probe: "open" }, location.origin);
			})`, &reply); err != nil {
				t.Fatal(err)
			}
			if !reply.OK || reply.Origin != url {
				t.Fatalf("background replied %+v, want ok from %s", reply, url)
			}
			prompt, err := b.WaitPrompt(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(prompt.URL(), b.ExtensionOrigin()+"/prompt.html") {
				t.Fatalf("prompt URL %q", prompt.URL())
			}
			if err := prompt.Type(ctx, "#passcode", "123456"); err != nil {
				t.Fatal(err)
			}
			if err := prompt.Click(ctx, "#submit"); err != nil {
				t.Fatal(err)
			}
			// Six trusted keydowns and a trusted click: typed as a person.
			if got, _ := prompt.Text(ctx, "#keys"); got != "6" {
				t.Errorf("trusted keydown events = %q, want 6", got)
			}
			if got, _ := prompt.Text(ctx, "#result"); got != "trusted:123456" {
				t.Errorf("#result = %q, want trusted:123456", got)
			}
			for _, s := range []struct {
				p    Page
				file string
			}{{prompt, "prompt.png"}, {page, "page.png"}} {
				path := filepath.Join(outDir(name, "harness"), s.file)
				if err := s.p.Screenshot(ctx, path); err != nil {
					t.Fatal(err)
				}
				if b, err := os.ReadFile(path); err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
					t.Fatalf("%s is not a PNG (%v)", path, err)
				}
			}
			if !b.PromptOpen() {
				t.Error("PromptOpen() = false while the window is open")
			}
			if err := prompt.Close(ctx); err != nil {
				t.Errorf("close the prompt: %v", err)
			}
			if err := b.WaitPromptClosed(ctx); err != nil {
				t.Error(err)
			}

			// No prompt is left over: a second WaitPrompt waits.
			short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancelShort()
			if _, err := b.WaitPrompt(short); err == nil {
				t.Error("WaitPrompt returned a window that was already handed out")
			}
		})
	}
}

func TestChromeExtensionID(t *testing.T) {
	// The development key's id is fixed in the brief and extension/static/dev-id.txt.
	key, err := os.ReadFile(filepath.Join("..", "..", "extension", "static", "dev-key.pub.b64"))
	if err != nil {
		t.Skipf("no development key: %v", err)
	}
	dir := writeManifest(t, t.TempDir(), map[string]any{"key": strings.TrimSpace(string(key))})
	id, err := chromeExtensionID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id != "jojkkadnmnpkbklmagcdhigmbdlcaoha" {
		t.Fatalf("id = %s, want jojkkadnmnpkbklmagcdhigmbdlcaoha", id)
	}
}
