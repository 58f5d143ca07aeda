// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// loginRig starts the broker simulator and a virtual card, and returns the
// environment that points the configuration at both.
func loginRig(t *testing.T) (*brokersim.Server, *vcard.Card, []string) {
	r := rig.New(t, rig.Options{})
	env, err := r.Env()
	if err != nil {
		t.Fatal(err)
	}
	return r.Sim, r.Card, env
}

// TestLogin_Scripted runs `oia login` in this process with the answers on
// standard input: a wrong passcode, the right one, the second role.
func TestLogin_Scripted(t *testing.T) {
	sim, _, env := loginRig(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status := dispatch(ctx, []string{"login", "--show-ticket"}, strings.NewReader("999999\n123456\n2\n"), &out, &errOut)
	if status != exitOK {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", status, out.String(), errOut.String())
	}
	for _, want := range []string{"Wrong passcode. 2 attempts left.", "Roles for Jane Smith:", "Logged in as Jane Smith (555000111222)", "Role:", "Expires:", "Ticket:  AQIC", "Logged out."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The terminal logged out at the broker.
	for _, line := range strings.Split(out.String(), "\n") {
		if ticket, ok := strings.CutPrefix(line, "Ticket:  "); ok && sim.TicketLive(ticket) {
			t.Error("the ticket is still live after oia login logged out")
		}
	}
}

// TestLogin_Tmux drives the built oia in a real terminal with tmux: the
// passcode is typed without echo and the login completes.
func TestLogin_Tmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (scripts/deps.sh installs it)")
	}
	_, _, env := loginRig(t)
	bin, err := rig.Binary("oia")
	if err != nil {
		t.Fatal(err)
	}
	session := "oia-login-test-" + filepath.Base(t.TempDir())
	args := []string{"new-session", "-d", "-s", session, "-x", "160", "-y", "40"}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(args, bin+" login --role 555254242105; sleep 30")
	tmux := func(a ...string) string {
		out, err := exec.Command("tmux", a...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", a, err, out)
		}
		return string(out)
	}
	tmux(args...)
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })
	screen := func(want string) string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", session)
			if strings.Contains(s, want) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %q:\n%s", want, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	screen("Passcode for card 555000111222")
	tmux("send-keys", "-t", session, "123456", "Enter")
	s := screen("Logged out.")
	if strings.Contains(s, "123456") {
		t.Errorf("the passcode was echoed:\n%s", s)
	}
	if !strings.Contains(s, "Logged in as Jane Smith") {
		t.Errorf("no login shown:\n%s", s)
	}
}
