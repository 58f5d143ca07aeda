// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/host/agentclient"
)

// loginRig starts the broker simulator and a virtual card, and returns the
// environment that points the configuration at both and at the rig's own
// agent endpoint. The system configuration it names turns the Ticket API on
// (oia login --show-ticket fetches the ticket as a desktop application
// does); development builds read it from OIA_SYSTEM_CONFIG.
func loginRig(t *testing.T) (*rig.Rig, []string) {
	r := rig.New(t, rig.Options{})
	env, err := r.Env()
	if err != nil {
		t.Fatal(err)
	}
	sys := filepath.Join(t.TempDir(), "system.json")
	if err := os.WriteFile(sys, []byte(`{"ticketApiEnabled": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return r, append(env, "OIA_SYSTEM_CONFIG="+sys)
}

// useBuiltAgent makes the commands run in this process start the built oia
// as the agent (this process is the test binary, not oia).
func useBuiltAgent(t *testing.T) {
	bin, err := rig.Binary("oia")
	if err != nil {
		t.Fatal(err)
	}
	old := startAgent
	startAgent = agentclient.Starter(bin)
	t.Cleanup(func() { startAgent = old })
}

// TestLogin_Scripted runs `oia login` in this process with the answers on
// standard input (a wrong passcode, the right one, the second role), through
// the agent it starts; the session it makes stays for everyone until `oia
// logout`.
func TestLogin_Scripted(t *testing.T) {
	r, env := loginRig(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	useBuiltAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oia := func(stdin string, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if status := dispatch(ctx, args, strings.NewReader(stdin), &out, &errOut); status != exitOK {
			t.Fatalf("oia %v: status %d\nstdout:\n%s\nstderr:\n%s", args, status, out.String(), errOut.String())
		}
		return out.String()
	}
	out := oia("999999\n123456\n2\n", "login", "--show-ticket")
	for _, want := range []string{"Wrong passcode. 2 attempts left.", "Roles for Jane Smith:", "Logged in as Jane Smith (555000111222)",
		"Role:", "Expires:", "Ticket:  AQIC", "The session lasts until the card is removed or 'oia logout'."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var ticket string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Ticket:  "); ok {
			ticket = v
		}
	}
	if !r.Sim.TicketLive(ticket) {
		t.Fatal("the ticket is not live after oia login")
	}
	// A second login finds the session and asks nothing (no input given).
	if out := oia("", "login"); !strings.Contains(out, "Already logged in") || strings.Contains(out, "Passcode") {
		t.Errorf("a second oia login:\n%s", out)
	}
	if out := oia("", "logout"); !strings.Contains(out, "Logged out.") {
		t.Errorf("oia logout:\n%s", out)
	}
	if r.Sim.TicketLive(ticket) {
		t.Error("the ticket is still live after oia logout")
	}
}

// TestLogin_Tmux drives the built oia in a real terminal with tmux: the
// passcode is typed without echo and the login completes.
func TestLogin_Tmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (scripts/deps.sh installs it)")
	}
	_, env := loginRig(t)
	bin, err := rig.Binary("oia")
	if err != nil {
		t.Fatal(err)
	}
	session := fmt.Sprintf("oia-login-test-%d-%s", os.Getpid(), filepath.Base(t.TempDir()))
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
	s := screen("The session lasts until")
	if strings.Contains(s, "123456") {
		t.Errorf("the passcode was echoed:\n%s", s)
	}
	if !strings.Contains(s, "Logged in as Jane Smith") {
		t.Errorf("no login shown:\n%s", s)
	}
}
