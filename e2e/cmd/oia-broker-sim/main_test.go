// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// binary returns the oia-broker-sim to test: from $OIA_BIN (make test), or
// built into a temporary directory.
func binary(t *testing.T) string {
	t.Helper()
	name := "oia-broker-sim"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if dir := os.Getenv("OIA_BIN"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", p, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return p
}

// TestBinary runs the real command: it must print its URL, CA and admin
// lines, and serve a whole login over TLS verified against that CA.
func TestBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the simulator with SIGINT")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	state := t.TempDir()
	cmd := exec.CommandContext(ctx, binary(t), "--state", state, "--session-time", "300s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	lines := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(lines) < 3 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("stdout line %q is not KEY=VALUE", sc.Text())
		}
		lines[k] = v
	}
	if len(lines) < 3 {
		t.Fatalf("the simulator printed %v before stopping; stderr:\n%s", lines, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	brokerURL, caFile, admin := lines["OIA_BROKER_URL"], lines["OIA_BROKER_CA"], lines["OIA_BROKER_ADMIN"]
	if !strings.HasPrefix(brokerURL, "https://127.0.0.1:") || !strings.HasPrefix(admin, "http://127.0.0.1:") {
		t.Fatalf("printed %v", lines)
	}
	if caFile != filepath.Join(state, "pki", testpki.RootCertFile) {
		t.Errorf("CA %s is not in the state directory", caFile)
	}

	// A user certified by the simulator's PKI, as a card would hold.
	pki, err := testpki.Load(filepath.Dir(caFile))
	if err != nil {
		t.Fatal(err)
	}
	jane, err := pki.IssueUser("555000111222", "Jane Smith")
	if err != nil {
		t.Fatal(err)
	}
	base, err := broker.ResolveBaseURL("", brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := broker.New(broker.Options{BaseURL: base, CABundle: caFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Activate(ctx)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	der, err := cms.Sign(ch.Data, jane.Cert, jane.Key, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Validate(ctx, ch, jane.UID, cms.WrapResponse(der))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if s.SessionTime != 300*time.Second || len(s.Roles) != 3 {
		t.Errorf("session %v", s)
	}
	if err := c.SelectRole(ctx, s.Ticket, s.Roles[1].ID); err != nil {
		t.Fatalf("SelectRole: %v", err)
	}

	// The admin endpoint: the ticket is live with the role, a fault set
	// over HTTP reaches the client, and clearing it restores service.
	var live struct {
		Live   bool   `json:"live"`
		RoleID string `json:"roleId"`
	}
	getJSON(t, admin+"/tickets?token="+url.QueryEscape(s.Ticket), &live)
	if !live.Live || live.RoleID != s.Roles[1].ID {
		t.Errorf("admin says %+v", live)
	}
	post(t, http.MethodPost, admin+"/faults", `{"endpoint":"roleassertion","kind":"status","status":500}`, http.StatusNoContent)
	post(t, http.MethodPost, admin+"/faults", `{"endpoint":"nowhere","kind":"status"}`, http.StatusBadRequest)
	_, err = c.RoleAssertion(ctx, s.Ticket)
	if protocol.CodeOf(err) != protocol.CodeServerCommFailed {
		t.Fatalf("RoleAssertion under a 500 fault: %v", err)
	}
	post(t, http.MethodDelete, admin+"/faults", "", http.StatusNoContent)
	a, err := c.RoleAssertion(ctx, s.Ticket)
	if err != nil {
		t.Fatalf("RoleAssertion: %v", err)
	}
	if r, ok := a.SelectedRole(); !ok || r.OrgName != "OIA TEST TRUST" || r.Name != "Registration Authority Agent" {
		t.Errorf("selected role %+v", r)
	}
	if err := c.Logout(ctx, s); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	var entries []brokersim.Entry
	getJSON(t, admin+"/log", &entries)
	if len(entries) < 6 {
		t.Errorf("admin log has %d entries", len(entries))
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the simulator did not stop cleanly: %v\n%s", err, stderr.String())
	}
	logData, err := os.ReadFile(filepath.Join(state, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(logData, []byte("\n")); n != len(entries) {
		t.Errorf("requests.jsonl has %d lines, the admin log %d entries", n, len(entries))
	}
	for _, secret := range []string{s.Ticket, url.QueryEscape(s.Ticket), ch.Raw} {
		if bytes.Contains(logData, []byte(secret)) {
			t.Error("requests.jsonl holds a secret")
		}
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func post(t *testing.T, method, u, body string, want int) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s (%s), want %d", method, u, resp.Status, msg, want)
	}
}

func TestRun_Usage(t *testing.T) {
	dir := t.TempDir()
	badUsers := filepath.Join(dir, "users.json")
	if err := os.WriteFile(badUsers, []byte(`{"users":[{"uid":"123","name":"x","roles":[]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		status int
		errHas string
	}{
		// a typo in a flag is a usage error
		{"unknown flag", []string{"--bogus"}, 2, "flag provided but not defined"},
		// a fault that cannot be parsed
		{"bad fault", []string{"--fault", "validate:explode"}, 2, "unknown"},
		// stray arguments
		{"argument", []string{"extra"}, 2, "unexpected argument"},
		// a users file with an invalid uid names the problem
		{"bad users", []string{"--users", badUsers}, 1, "not 12 digits"},
		// a missing users file
		{"missing users", []string{"--users", filepath.Join(dir, "none.json")}, 1, "no such file"},
		// the admin endpoint has no authentication, so only loopback
		{"admin not loopback", []string{"--admin-addr", "0.0.0.0:0", "--pki", filepath.Join(dir, "pki")}, 1, "not loopback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), tc.args, &stdout, &stderr)
			if got != tc.status || !strings.Contains(stderr.String(), tc.errHas) {
				t.Errorf("status %d, stderr %q; want %d and %q", got, stderr.String(), tc.status, tc.errHas)
			}
		})
	}
}
