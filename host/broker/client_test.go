// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/protocol"
)

// activateAnswer is a minimal valid activation answer for base.
func activateAnswer(base string) string {
	return fmt.Sprintf(`<gpOBJECT><gpPARAM name="challenge">AAECAw==</gpPARAM><gpPARAM name="signature">s</gpPARAM><gpPARAM name="reply_url">%s/login/authvalidate</gpPARAM></gpOBJECT>`, base)
}

// tlsServer starts an httptest TLS server and a client that trusts it
// through a CA bundle file, as configured in production.
func tlsServer(t *testing.T, h http.HandlerFunc, edit func(*Options)) (*httptest.Server, *Client) {
	t.Helper()
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(ts.URL)
	opts := Options{BaseURL: base, CABundle: ca, Timeout: 5 * time.Second}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.backoffBase = time.Millisecond
	return ts, c
}

func TestRedirects(t *testing.T) {
	var ts *httptest.Server
	ts, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login/authactivate":
			// a same-host move keeps the POST (307)
			http.Redirect(w, r, "/moved/authactivate", http.StatusTemporaryRedirect)
		case "/moved/authactivate":
			body, _ := io.ReadAll(r.Body)
			if !strings.Contains(string(body), `name="service">ACTIVATION`) {
				http.Error(w, "body lost in the redirect", http.StatusBadRequest)
				return
			}
			io.WriteString(w, activateAnswer(ts.URL))
		case "/saml/RoleAssertion":
			// another host: refused
			http.Redirect(w, r, "https://localhost:1/elsewhere", http.StatusFound)
		}
	}, nil)
	ctx := context.Background()
	ch, err := c.Activate(ctx)
	if err != nil {
		t.Fatalf("Activate through a same-host redirect: %v", err)
	}
	if string(ch.Data) != "\x00\x01\x02\x03" {
		t.Errorf("challenge %x", ch.Data)
	}
	_, err = c.RoleAssertion(ctx, "AQIC5wM2LY4Sx@AAJTSQACMDE=#")
	var be *Error
	if !errors.As(err, &be) || be.Kind != KindURL || protocol.CodeOf(err) != protocol.CodeServerCommFailed {
		t.Fatalf("redirect to another host: %v", err)
	}
	if strings.Contains(err.Error(), "AQIC") {
		t.Errorf("error %q holds the ticket", err)
	}
}

func TestActivate_BadAnswers(t *testing.T) {
	cases := []struct {
		name   string
		answer func(base string) string
		kind   Kind
		errHas string
	}{
		// each required field missing is named
		{"no challenge", func(b string) string {
			return strings.Replace(activateAnswer(b), `<gpPARAM name="challenge">AAECAw==</gpPARAM>`, "", 1)
		}, KindMalformed, "no challenge field"},
		{"no signature", func(b string) string {
			return strings.Replace(activateAnswer(b), `name="signature">s<`, `name="signature"><`, 1)
		}, KindMalformed, "no signature field"},
		{"no reply_url", func(b string) string {
			return `<gpOBJECT><gpPARAM name="challenge">AAEC</gpPARAM><gpPARAM name="signature">s</gpPARAM></gpOBJECT>`
		}, KindMalformed, "no reply_url field"},
		// a challenge that is not base64 cannot be signed
		{"challenge not base64", func(b string) string { return strings.Replace(activateAnswer(b), "AAECAw==", "!!!", 1) }, KindMalformed, "challenge field is invalid"},
		// plain http would send the signed challenge in clear
		{"http reply_url", func(b string) string { return activateAnswer(strings.Replace(b, "https://", "http://", 1)) }, KindURL, "is not https"},
		// the login credential must not go to another host
		{"foreign reply_url", func(string) string { return activateAnswer("https://evil.example") }, KindURL, "is not the broker's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ts *httptest.Server
			ts, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.answer(ts.URL)) }, nil)
			_, err := c.Activate(context.Background())
			var be *Error
			if !errors.As(err, &be) || be.Kind != tc.kind || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %v, want kind %s containing %q", err, tc.kind, tc.errHas)
			}
		})
	}
}

func TestAllowedHosts(t *testing.T) {
	var ts *httptest.Server
	ts, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, activateAnswer("https://validate.example:8443"))
	}, func(o *Options) { o.AllowedHosts = []string{"VALIDATE.example:8443"} })
	_ = ts
	ch, err := c.Activate(context.Background())
	if err != nil {
		t.Fatalf("a configured extra host was refused: %v", err)
	}
	if ch.ReplyURL.Host != "validate.example:8443" {
		t.Errorf("reply url %s", ch.ReplyURL)
	}
}

func TestRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var ts *httptest.Server
	ts, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, activateAnswer(ts.URL))
	}, nil)
	if _, err := c.Activate(context.Background()); err != nil || calls.Load() != 2 {
		t.Fatalf("Activate after a 503: %v, %d calls", err, calls.Load())
	}
}

func TestTooLarge(t *testing.T) {
	_, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", MaxBodySize+10))
	}, nil)
	_, err := c.Activate(context.Background())
	var be *Error
	if !errors.As(err, &be) || be.Kind != KindTooLarge {
		t.Fatalf("error %v, want too large", err)
	}
}

func TestNew_Options(t *testing.T) {
	base, _ := url.Parse("https://broker.example")
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		opts   Options
		errHas string
	}{
		// the base URL is required
		{"no base", Options{}, "no base url"},
		// a CA bundle that holds nothing is a configuration mistake
		{"ca bundle not pem", Options{BaseURL: base, CABundle: notPEM}, "holds no PEM certificate"},
		{"ca bundle missing", Options{BaseURL: base, CABundle: filepath.Join(dir, "none.pem")}, "no such file"},
		// device ids are 8 hex digits
		{"bad device id", Options{BaseURL: base, DeviceID: "xyz"}, "8 hexadecimal"},
		{"bad client ip", Options{BaseURL: base, ClientIP: "not-an-ip"}, "not an ip"},
		// a header injection attempt
		{"user agent with newline", Options{BaseURL: base, UserAgent: "a\r\nX: y"}, "line break"},
		{"bad allowed host", Options{BaseURL: base, AllowedHosts: []string{"a/b"}}, "not a host"},
	}
	for _, tc := range cases {
		if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.errHas)
		}
	}
}

func TestLogSessionID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := newLogSessionID()
		if err != nil || len(id) != 10 || strings.Trim(id, alnum) != "" || seen[id] {
			t.Fatalf("log session id %q, %v", id, err)
		}
		seen[id] = true
	}
}
