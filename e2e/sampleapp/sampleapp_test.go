// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package sampleapp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/protocol"
)

var (
	pkiOnce sync.Once
	pki     *testpki.PKI
	pkiErr  error
)

// testPKI makes one PKI for the package's tests (RSA key generation is the
// slow part).
func testPKI(t *testing.T) *testpki.PKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = testpki.New() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

// pageLibrary writes a page library file for the server to serve. The
// server treats it as opaque bytes; the browser tests use the real one.
func pageLibrary(t *testing.T) (string, []byte) {
	t.Helper()
	b := []byte("export const marker = \"page library under test\";\n")
	p := filepath.Join(t.TempDir(), "oia.js")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// fakeChecker answers RoleAssertion from a table of tickets.
type fakeChecker struct {
	assertions map[string]*broker.Assertion
	err        error
	got        []string
	mu         sync.Mutex
}

var _ TicketChecker = (*fakeChecker)(nil)

func (f *fakeChecker) RoleAssertion(_ context.Context, ticket string) (*broker.Assertion, error) {
	f.mu.Lock()
	f.got = append(f.got, ticket)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if a, ok := f.assertions[ticket]; ok {
		return a, nil
	}
	return nil, &broker.Error{Op: "roleassertion", Kind: broker.KindRefused, Status: 200,
		Err: protocol.Errorf(protocol.CodeSessionExpired, "the broker does not know the ticket")}
}

// start runs a sample app with checker and returns it and an HTTPS client
// that trusts only the test root.
func start(t *testing.T, checker TicketChecker) (*Server, *http.Client) {
	t.Helper()
	lib, _ := pageLibrary(t)
	s, err := New(Options{PKI: testPKI(t), PageLibrary: lib, Checker: checker})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, trustingClient(s.PKI().RootPool())
}

func trustingClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
}

func TestServer_ServesPageOverVerifiedTLS(t *testing.T) {
	s, c := start(t, &fakeChecker{})
	_, lib := pageLibrary(t)
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL() = %q, want https://127.0.0.1:PORT", s.URL())
	}
	for _, tc := range []struct {
		path, contentType string
		want              []string
	}{
		// The page carries every id the tests and developers rely on.
		{"/", "text/html; charset=utf-8", []string{`id="login"`, `id="user"`, `id="role"`, `id="org"`, `id="server-check"`, `id="session"`, `id="error"`, `id="events"`, `id="logout"`, `id="new-ticket"`, `id="no-auth"`, `src="/app.js"`}},
		// The module imports the page library from the site itself.
		{"/app.js", "text/javascript; charset=utf-8", []string{`from "/oia.js"`, "getTicketNoAuth", "/api/session"}},
		// The page library is served as built, byte for byte.
		{"/oia.js", "text/javascript; charset=utf-8", []string{string(lib)}},
	} {
		resp, err := c.Get(s.URL() + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", tc.path, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q does not restrict scripts to the site", tc.path, csp)
		}
		for _, w := range tc.want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("GET %s: body lacks %q", tc.path, w)
			}
		}
	}
	resp, err := c.Get(s.URL() + "/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing-here: status %d, want 404", resp.StatusCode)
	}
}

func TestServer_UntrustedClientFailsTLS(t *testing.T) {
	s, _ := start(t, &fakeChecker{})
	other, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	// A client that trusts another authority must refuse the site: the
	// site really is served with the test PKI, verified, not skipped.
	_, err = trustingClient(other.RootPool()).Get(s.URL() + "/")
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("GET with another root: err = %v, want an unknown authority error", err)
	}
}

func TestSession(t *testing.T) {
	const ticket = "AQIC5wM2LY4SfcxTestTicket@AAJTSQACMDE=#"
	checker := &fakeChecker{assertions: map[string]*broker.Assertion{
		ticket: {UID: "555000111222", Name: "Jane Smith", SessionRoleID: "555254242105", Mode: "0",
			Roles: []broker.AssertionRole{
				{ID: "555254242106", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Admin & Clerical", Name: "Registration Authority Agent"},
				{ID: "555254242105", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Clinical", Name: "Clinical Practitioner Access Role"},
			}},
	}}
	s, c := start(t, checker)
	for _, tc := range []struct {
		name        string
		contentType string
		origin      string
		body        string
		status      int
		code        protocol.Code
	}{
		// The broker knows the ticket: the selected role, not the first one.
		{"known ticket", "application/json", "", `{"ticket":"` + ticket + `"}`, 200, ""},
		// Same-origin fetches send Origin; it must be accepted.
		{"same origin", "application/json", "SELF", `{"ticket":"` + ticket + `"}`, 200, ""},
		// A dead or unknown ticket is the user's problem, not the server's.
		{"unknown ticket", "application/json", "", `{"ticket":"AQIC5wM2LY4Sfcx-dead@AAJTSQACMDE=#"}`, 401, protocol.CodeSessionExpired},
		// A form post from another site cannot carry JSON.
		{"form content type", "application/x-www-form-urlencoded", "", "ticket=x", 415, protocol.CodeBadRequest},
		// Another origin is refused even with the right content type.
		{"cross origin", "application/json", "https://evil.example", `{"ticket":"` + ticket + `"}`, 403, protocol.CodeOriginNotAllowed},
		// Unknown fields are errors, so typos do not pass silently.
		{"unknown field", "application/json", "", `{"ticket":"x","pin":"1234"}`, 400, protocol.CodeBadRequest},
		// Bodies are bounded.
		{"oversized body", "application/json", "", `{"ticket":"` + strings.Repeat("A", 5000) + `"}`, 400, protocol.CodeBadRequest},
		// Garbage is a clear error, not a crash.
		{"not json", "application/json", "", `{"ticket":`, 400, protocol.CodeBadRequest},
		// Two JSON values are not one request.
		{"trailing value", "application/json", "", `{"ticket":"x"}{}`, 400, protocol.CodeBadRequest},
		// An empty ticket never reaches the broker.
		{"empty ticket", "application/json", "", `{"ticket":"  "}`, 400, protocol.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/session", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.origin == "SELF" {
				req.Header.Set("Origin", s.URL())
			} else if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got SessionResponse
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%+v), want %d", resp.StatusCode, got.Error, tc.status)
			}
			if tc.code != "" {
				if got.Error == nil || got.Error.Code != tc.code {
					t.Fatalf("error %+v, want code %s", got.Error, tc.code)
				}
				if strings.Contains(got.Error.Message, ticket) {
					t.Fatalf("error message holds the ticket: %q", got.Error.Message)
				}
				return
			}
			if got.User == nil || got.User.UID != "555000111222" || got.User.Name != "Jane Smith" {
				t.Errorf("user %+v, want Jane Smith 555000111222", got.User)
			}
			if got.Role == nil || got.Role.ID != "555254242105" || got.Role.OrgCode != "RX1" || got.Role.Name != "Clinical Practitioner Access Role" {
				t.Errorf("role %+v, want the selected role 555254242105", got.Role)
			}
			if got.Mode != "live" {
				t.Errorf("mode %q, want live", got.Mode)
			}
		})
	}
	for _, got := range checker.got {
		if got == "" || strings.TrimSpace(got) == "" {
			t.Errorf("an empty ticket reached the broker")
		}
	}
}

func TestSession_BrokerDown(t *testing.T) {
	down := &broker.Error{Op: "roleassertion", Kind: broker.KindTransport,
		Err: protocol.Wrap(protocol.CodeServerCommFailed, errors.New("connection refused"))}
	s, c := start(t, &fakeChecker{err: down})
	resp, err := c.Post(s.URL()+"/api/session", "application/json", strings.NewReader(`{"ticket":"AQIC5wM2LY4Sfcx@AAJTSQACMDE=#"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got SessionResponse
	_ = json.NewDecoder(resp.Body).Decode(&got)
	// An unreachable broker is a gateway failure with the stable code.
	if resp.StatusCode != http.StatusBadGateway || got.Error == nil || got.Error.Code != protocol.CodeServerCommFailed {
		t.Fatalf("status %d, error %+v; want 502 SERVER_COMM_FAILED", resp.StatusCode, got.Error)
	}
}

func TestNew_Errors(t *testing.T) {
	lib, _ := pageLibrary(t)
	missing := filepath.Join(t.TempDir(), "dist", "page", "oia.js")
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		// The page library must be built first; the error says how.
		{"library not built", Options{PKI: testPKI(t), PageLibrary: missing, Checker: &fakeChecker{}}, "run make extension"},
		// No path at all names the usual one.
		{"library not set", Options{PKI: testPKI(t), Checker: &fakeChecker{}}, PageLibraryPath},
		// TLS needs a PKI.
		{"no pki", Options{PageLibrary: lib, Checker: &fakeChecker{}}, "set PKI or PKIDir"},
		// The server side needs a broker.
		{"no broker", Options{PKI: testPKI(t), PageLibrary: lib}, "set BrokerURL"},
		// The broker must be HTTPS (the broker client refuses anything else).
		{"http broker", Options{PKI: testPKI(t), PageLibrary: lib, BrokerURL: "http://127.0.0.1:1"}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRun_StopsWithContext(t *testing.T) {
	lib, _ := pageLibrary(t)
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{PKI: testPKI(t), PageLibrary: lib, Checker: &fakeChecker{}}, func(s *Server) { urls <- s.URL() })
	}()
	u := <-urls
	resp, err := trustingClient(testPKI(t).RootPool()).Get(u + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := trustingClient(testPKI(t).RootPool()).Get(u + "/"); err == nil {
		t.Fatal("the server still answers after Run returned")
	}
}

func TestFindPageLibrary(t *testing.T) {
	p, err := FindPageLibrary(".")
	if err != nil {
		t.Fatal(err)
	}
	// From e2e/sampleapp the repository root is two levels up.
	want, _ := filepath.Abs(filepath.Join("..", "..", PageLibraryPath))
	if p != want {
		t.Fatalf("FindPageLibrary(.) = %q, want %q", p, want)
	}
}
