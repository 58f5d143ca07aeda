// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/host/agentclient"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// hostBinary returns the built oia-host (e2e/rig.Binary).
func hostBinary(t *testing.T) string {
	t.Helper()
	p, err := rig.Binary("oia-host")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// privateAgent returns an agent endpoint of the test's own; its agent is
// stopped when the test ends.
func privateAgent(t *testing.T) *rig.Agent {
	t.Helper()
	a, err := rig.NewAgent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("stop the agent: %v", err)
		}
	})
	return a
}

// host is a running oia-host, spoken to over real pipes as a browser would:
// e2e/load's driver, with helpers that fail the test instead of returning
// errors.
type host struct {
	t *testing.T
	*load.Host
}

func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(cfg)
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startHost starts oia-host with the development extension as its caller.
// Without an agent endpoint in env it gets a private agent, which ends with
// it.
func startHost(t *testing.T, cfg map[string]any, env ...string) *host {
	t.Helper()
	if _, ok := cfg["logFile"]; !ok {
		cfg["logFile"] = filepath.Join(t.TempDir(), "host.log")
	}
	lh, err := load.Start(load.Options{Binary: hostBinary(t), Dir: t.TempDir(), Config: cfg, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, Host: lh}
	t.Cleanup(func() {
		_ = lh.Close(3 * time.Second)
		if err := lh.ProtocolError(); err != nil {
			t.Errorf("the host broke the framing: %v", err)
		}
	})
	return h
}

// ctx bounds one wait for a frame.
func (h *host) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *host) sendRaw(b []byte) {
	h.t.Helper()
	if err := h.SendRaw(b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) send(req map[string]any) string {
	h.t.Helper()
	id, err := h.Send(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// next returns the next frame matching ok, keeping the others for later.
func (h *host) next(what string, ok func(protocol.Frame) bool) protocol.Frame {
	h.t.Helper()
	f, err := h.Next(h.ctx(), what, ok)
	if err != nil {
		h.t.Fatal(err)
	}
	return f
}

// waitCard waits until the host has read the card: its hello says so when
// the agent had read it before the host attached, else cardInserted does.
func (h *host) waitCard() {
	h.t.Helper()
	if err := load.WaitCard(h.ctx(), h.Host); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) result(id string) protocol.Frame {
	h.t.Helper()
	return h.next("result "+id, func(f protocol.Frame) bool { return f.Type == "result" && f.ID == id })
}

func (h *host) event(name protocol.EventName) protocol.Frame {
	h.t.Helper()
	return h.next("event "+string(name), func(f protocol.Frame) bool { return f.Type == "event" && f.Event == name })
}

func (h *host) call(req map[string]any) protocol.Frame {
	h.t.Helper()
	return h.result(h.send(req))
}

func errCode(f protocol.Frame) protocol.Code {
	if f.Error == nil {
		return ""
	}
	return f.Error.Code
}

func baseConfig() map[string]any {
	return map[string]any{"pkcs11Modules": []string{}, "brokerURL": "https://127.0.0.1:1"}
}

func TestHost_HelloAndBadInput(t *testing.T) {
	h := startHost(t, baseConfig())
	hello := h.next("hello", func(f protocol.Frame) bool { return f.Type == "hello" })
	if hello.Protocol != protocol.Version || hello.Version != oia.Version || hello.State != protocol.StateNoCard {
		t.Fatalf("hello = %+v", hello)
	}
	if hello.Settings == nil || len(hello.Settings.AllowedOrigins) != 1 || hello.Settings.AllowedOrigins[0] != "https://*.nhs.uk" {
		t.Errorf("hello settings = %+v", hello.Settings)
	}

	// An oversize frame: an error event, and the host keeps serving.
	big := binary.NativeEndian.AppendUint32(nil, nativemsg.MaxInbound+1)
	h.sendRaw(append(big, bytes.Repeat([]byte{'x'}, nativemsg.MaxInbound+1)...))
	if ev := h.event(protocol.EvError); errCode(ev) != protocol.CodeFrameTooLarge {
		t.Errorf("oversize frame: %+v", ev.Error)
	}
	h.sendRaw(append(binary.NativeEndian.AppendUint32(nil, 5), "{oops"...))
	if ev := h.event(protocol.EvError); errCode(ev) != protocol.CodeBadRequest {
		t.Errorf("malformed frame: %+v", ev.Error)
	}
	if r := h.call(map[string]any{"type": "format"}); errCode(r) != protocol.CodeBadRequest {
		t.Errorf("unknown request type: %+v", r)
	}
	if r := h.call(map[string]any{"type": "status", "pin": "1234"}); errCode(r) != protocol.CodeBadRequest {
		t.Errorf("unknown field: %+v", r)
	}
	if r := h.call(map[string]any{"type": "hello", "protocol": "2.0"}); errCode(r) != protocol.CodeHostVersionMismatch {
		t.Errorf("major version mismatch: %+v", r)
	}
	r := h.call(map[string]any{"type": "status"})
	if !r.OK || r.State != protocol.StateNoCard || r.Card == nil || r.Card.Present {
		t.Errorf("status after bad input: %+v", r)
	}
	if r := h.call(map[string]any{"type": "getTicketNoAuth", "origin": "https://spine.nhs.uk"}); errCode(r) != protocol.CodeTicketNotAvailable {
		t.Errorf("getTicketNoAuth without a session: %+v", r)
	}
	if r := h.call(map[string]any{"type": "getTicket", "origin": "https://evil.example"}); errCode(r) != protocol.CodeOriginNotAllowed {
		t.Errorf("a disallowed origin: %+v", r)
	}

	// The browser closes the port: the host exits within a second.
	start := time.Now()
	if err := h.Close(2 * time.Second); err != nil {
		t.Errorf("exit after EOF: %v\n%s", err, h.Stderr())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("exited %v after EOF, want within 1 s", d)
	}
}

func TestHost_RefusesCallers(t *testing.T) {
	cfg := writeConfig(t, baseConfig())
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"an extension not in allowedExtensions", []string{"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"}, exitForbidden, "allowedExtensions"},
		{"a Firefox add-on not in allowedExtensions", []string{"/x/org.openidentityagent.host.json", "evil@example.org"}, exitForbidden, "allowedExtensions"},
		{"no caller: started by hand", nil, exitUsage, "no caller"},
		{"a malformed chrome caller", []string{"chrome-extension://../"}, exitUsage, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(hostBinary(t), tt.args...)
			cmd.Env = append(os.Environ(), "OIA_CONFIG="+cfg, "OIA_SYSTEM_CONFIG=/nonexistent/oia.json")
			var stderr, stdout bytes.Buffer
			cmd.Stderr, cmd.Stdout = &stderr, &stdout
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.status {
				t.Fatalf("exit = %v, want status %d", err, tt.status)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("a refused host wrote to stdout: %q", stdout.String())
			}
		})
	}
	out, err := exec.Command(hostBinary(t), "--version").Output()
	if err != nil || !strings.Contains(string(out), oia.Version) {
		t.Errorf("--version: %q, %v", out, err)
	}
}

// loginRig is the simulator and a card (e2e/rig), and the environment the
// card's chain needs (cards_test.go).
type loginRig struct {
	*rig.Rig
	card testCard
	env  []string
}

// newLoginRig is a rig with our module's virtual card, for the tests that
// need what only it can do (a PIN pad, faults).
func newLoginRig(t *testing.T) *loginRig { return cardChains[0].start(t) }

// start starts a host with the rig's configuration and says hello, as the
// extension does on connecting (a card that waits is prompted for then).
func (r *loginRig) start(t *testing.T) *host {
	env, err := r.Env()
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, r.Config, append(env, r.env...)...)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(r.LogFile())
			t.Logf("host and agent log:\n%s", b)
		}
	})
	if res := h.call(map[string]any{"type": "hello", "protocol": protocol.Version}); !res.OK {
		t.Fatalf("hello: %+v", res.Error)
	}
	return h
}

func TestHost_Login(t *testing.T) { forEachChain(t, testLogin) }

func testLogin(t *testing.T, _ cardChain, rig *loginRig) {
	logFile := rig.LogFile()
	h := rig.start(t)

	// Prompt on insert: the card is in, so the host asks for the passcode.
	p := h.event(protocol.EvPINRequired)
	if p.AttemptsLeft != 3 || p.UID != "555000111222" || p.PINPad {
		t.Fatalf("first prompt = %+v", p)
	}
	// Two pages ask for the ticket while the passcode is being typed.
	waiting := []string{
		h.send(map[string]any{"type": "getTicket", "origin": "https://spine.nhs.uk"}),
		h.send(map[string]any{"type": "getTicket", "origin": "https://ers.nhs.uk"}),
	}
	if r := h.call(map[string]any{"type": "pin", "pin": "999999"}); !r.OK {
		t.Fatalf("pin: %+v", r)
	}
	p = h.event(protocol.EvPINRequired)
	if p.AttemptsLeft != 2 || p.LastError != protocol.CodePINIncorrect {
		t.Fatalf("prompt after a wrong passcode = %+v", p)
	}
	if left, _, err := rig.card.Counter(); err != nil || left != 2 {
		t.Fatalf("the card's own counter is %d (%v) after a wrong passcode, want 2", left, err)
	}
	h.call(map[string]any{"type": "pin", "pin": "123456"})
	roles := h.event(protocol.EvRoleRequired)
	if len(roles.Roles) < 2 || roles.User == nil || roles.User.Name == "" {
		t.Fatalf("role prompt = %+v", roles)
	}
	chosen := roles.Roles[1]
	if r := h.call(map[string]any{"type": "selectRole", "roleId": chosen.ID}); !r.OK {
		t.Fatalf("selectRole: %+v", r)
	}
	h.event(protocol.EvLoggedIn)
	var ticket string
	for _, id := range waiting {
		r := h.result(id)
		if !r.OK || r.Ticket == "" || r.Role == nil || r.Role.ID != chosen.ID || r.User.UID != "555000111222" {
			t.Fatalf("waiting getTicket: %+v", r)
		}
		if ticket != "" && r.Ticket != ticket {
			t.Error("two waiting requests got different tickets from one login")
		}
		ticket = r.Ticket
	}
	if !rig.Sim.TicketLive(ticket) {
		t.Fatal("the broker does not know the ticket")
	}
	if r := h.call(map[string]any{"type": "getTicketNoAuth", "origin": "https://spine.nhs.uk"}); r.Ticket != ticket {
		t.Errorf("getTicketNoAuth when logged in: %+v", r)
	}
	if r := h.call(map[string]any{"type": "getTicketNoAuth", "origin": "https://evil.example"}); errCode(r) != protocol.CodeOriginNotAllowed || r.Ticket != "" {
		t.Errorf("a disallowed origin: %+v", r)
	}

	// Removing the card: the pages are told and the broker forgets the
	// ticket within 2 s.
	removed := time.Now()
	if err := rig.card.Remove(); err != nil {
		t.Fatal(err)
	}
	h.event(protocol.EvTicketDestroyed)
	h.event(protocol.EvCardRemoved)
	for rig.Sim.TicketLive(ticket) {
		if time.Since(removed) > 2*time.Second {
			t.Fatal("the broker still accepts the ticket 2 s after the card was removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := h.call(map[string]any{"type": "getTicketNoAuth", "origin": "https://spine.nhs.uk"}); errCode(r) != protocol.CodeTicketNotAvailable {
		t.Errorf("after removal: %+v", r)
	}
	// Re-inserting prompts again.
	if err := rig.card.Insert(); err != nil {
		t.Fatal(err)
	}
	h.event(protocol.EvCardInserted)
	h.event(protocol.EvPINRequired)

	// Neither the passcode nor the ticket reached the log.
	_ = h.Close(3 * time.Second)
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"123456", "999999", ticket} {
		if bytes.Contains(log, []byte(secret)) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}
}

func TestHost_ThreeWrongPasscodesLockTheCard(t *testing.T) { forEachChain(t, testThreeWrong) }

func testThreeWrong(t *testing.T, _ cardChain, rig *loginRig) {
	h := rig.start(t)
	for i, wantLeft := range []int{3, 2, 1} {
		p := h.event(protocol.EvPINRequired)
		if p.AttemptsLeft != wantLeft || p.FinalTry != (wantLeft == 1) {
			t.Fatalf("prompt %d = %+v", i, p)
		}
		h.call(map[string]any{"type": "pin", "pin": fmt.Sprintf("00000%d", i)})
	}
	ev := h.event(protocol.EvError)
	if errCode(ev) != protocol.CodePINLocked {
		t.Fatalf("after three wrong passcodes: %+v", ev.Error)
	}
	if left, locked, err := rig.card.Counter(); err != nil || !locked || left != 0 {
		t.Fatalf("the card's counter is %d (locked %v, %v), want locked", left, locked, err)
	}
	verifies, counted := rig.card.Verifies()
	// No fourth attempt can be sent.
	if r := h.call(map[string]any{"type": "pin", "pin": "123456"}); errCode(r) != protocol.CodeInvalidState {
		t.Errorf("a fourth passcode: %+v", r)
	}
	if r := h.call(map[string]any{"type": "getTicket", "origin": "https://spine.nhs.uk"}); errCode(r) != protocol.CodePINLocked {
		t.Errorf("getTicket on a locked card: %+v", r)
	}
	if left, _, _ := rig.card.Counter(); left != 0 {
		t.Errorf("the card's counter changed after lock: %d", left)
	}
	if n, _ := rig.card.Verifies(); counted && n != verifies {
		t.Errorf("%d passcode VERIFY reached the locked card", n-verifies)
	}
}

func TestHost_PolicySettingsInHello(t *testing.T) {
	hello := map[string]any{"type": "hello", "protocol": "1.0", "settings": map[string]any{"promptOnCardInsert": false, "pinTimeoutSeconds": 30}}

	h := startHost(t, baseConfig())
	r := h.call(hello)
	if !r.OK || r.Settings == nil || r.Settings.PINTimeoutSeconds != 30 || r.Settings.PromptOnCardInsert {
		t.Errorf("browser policy settings were not applied: %+v", r.Settings)
	}

	// The system file fixes the passcode timeout: the policy cannot change it.
	sys := writeConfig(t, map[string]any{"pinTimeoutSeconds": 90})
	locked := startHost(t, baseConfig(), "OIA_SYSTEM_CONFIG="+sys)
	fr := locked.call(map[string]any{"type": "hello", "settings": map[string]any{"pinTimeoutSeconds": 30}})
	if fr.Settings == nil || fr.Settings.PINTimeoutSeconds != 90 {
		t.Errorf("a setting fixed by the system file was overridden by policy: %+v", fr.Settings)
	}
}

// login types the passcode and picks the first role; it returns the
// loggedIn event.
func (h *host) login(pin string) protocol.Frame {
	h.t.Helper()
	h.event(protocol.EvPINRequired)
	h.call(map[string]any{"type": "pin", "pin": pin})
	roles := h.event(protocol.EvRoleRequired)
	h.call(map[string]any{"type": "selectRole", "roleId": roles.Roles[0].ID})
	return h.event(protocol.EvLoggedIn)
}

func TestHost_TenConcurrentGetTicket(t *testing.T) {
	rig := newLoginRig(t)
	rig.Config["promptOnCardInsert"] = false
	h := rig.start(t)
	h.waitCard()
	var ids []string
	for range 10 {
		ids = append(ids, h.send(map[string]any{"type": "getTicket", "origin": "https://spine.nhs.uk"}))
	}
	p := h.event(protocol.EvPINRequired)
	if p.Origin != "https://spine.nhs.uk" {
		t.Errorf("the prompt does not say who asked: %+v", p)
	}
	h.call(map[string]any{"type": "pin", "pin": "123456"})
	roles := h.event(protocol.EvRoleRequired)
	h.call(map[string]any{"type": "selectRole", "roleId": roles.Roles[0].ID})
	var ticket string
	for _, id := range ids {
		r := h.result(id)
		if !r.OK || r.Ticket == "" || (ticket != "" && r.Ticket != ticket) {
			t.Fatalf("request %s: %+v", id, r)
		}
		ticket = r.Ticket
	}
	validations := 0
	for _, e := range rig.Sim.Log() {
		if strings.Contains(e.Path, "authvalidate") {
			validations++
		}
	}
	if validations != 1 {
		t.Errorf("%d validations at the broker for ten requests, want one login", validations)
	}
}

func TestHost_PINPad(t *testing.T) {
	rig := newLoginRig(t)
	if err := rig.Card.SetPINPad(true, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	h := rig.start(t)
	p := h.event(protocol.EvPINRequired)
	if !p.PINPad || p.TimeoutSeconds == 0 {
		t.Fatalf("PIN pad prompt = %+v", p)
	}
	if r := h.call(map[string]any{"type": "pin", "pin": "123456"}); errCode(r) != protocol.CodeInvalidState {
		t.Errorf("a passcode from the extension on a PIN pad reader: %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rig.Card.PINPadEnter(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	roles := h.event(protocol.EvRoleRequired)
	h.call(map[string]any{"type": "selectRole", "roleId": roles.Roles[0].ID})
	h.event(protocol.EvLoggedIn)
}

func TestHost_SwapEndsTheSession(t *testing.T) { forEachChain(t, testSwap) }

func testSwap(t *testing.T, chain cardChain, rig *loginRig) {
	h := rig.start(t)
	h.login("123456")
	r := h.call(map[string]any{"type": "getTicketNoAuth", "origin": "https://spine.nhs.uk"})
	if err := rig.card.SwapForAnother(); err != nil {
		t.Fatal(err)
	}
	if ev := h.event(protocol.EvTicketDestroyed); ev.Reason != chain.swapReason {
		t.Errorf("reason = %q, want %s", ev.Reason, chain.swapReason)
	}
	h.event(protocol.EvCardRemoved)
	h.event(protocol.EvCardInserted)
	h.event(protocol.EvPINRequired) // the new card is asked for its passcode
	deadline := time.Now().Add(2 * time.Second)
	for rig.Sim.TicketLive(r.Ticket) {
		if time.Now().After(deadline) {
			t.Fatal("the old card's ticket is still live after the swap")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHost_SessionExpiry(t *testing.T) {
	rig := newLoginRig(t)
	sim, err := brokersim.New(brokersim.Options{AdminAddr: "off", PKI: rig.Sim.PKI(), SessionTime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	rig.Config["brokerURL"], rig.Config["caBundle"] = sim.URL(), sim.CAFile()
	h := rig.start(t)
	in := h.login("123456")
	if in.ExpiresAt == nil {
		t.Fatal("loggedIn carries no expiry")
	}
	if ev := h.event(protocol.EvTicketDestroyed); ev.Reason != protocol.ReasonExpired {
		t.Errorf("reason = %q, want expired", ev.Reason)
	}
	if r := h.call(map[string]any{"type": "getTicketNoAuth", "origin": "https://spine.nhs.uk"}); errCode(r) != protocol.CodeTicketNotAvailable {
		t.Errorf("after expiry: %+v", r)
	}
}

// TestHost_RemovalInEachState removes the card in each state a login passes
// through, through each chain: the pages waiting get CARD_REMOVED, the
// extension is told, and a re-inserted card starts again.
func TestHost_RemovalInEachState(t *testing.T) {
	tests := []struct {
		name string
		// pinPad: the card's reader has a PIN pad, which only our
		// module's card can play (OpenSC's PIV driver has none).
		pinPad bool
		reach  func(h *host, rig *loginRig)
	}{
		{"awaiting the passcode", false, func(h *host, rig *loginRig) { h.event(protocol.EvPINRequired) }},
		{"verifying a PIN pad entry", true, func(h *host, rig *loginRig) {
			h.event(protocol.EvPINRequired)
			deadline := time.Now().Add(5 * time.Second)
			for st, _ := rig.Card.Status(); !st.PINPadWaiting; st, _ = rig.Card.Status() {
				if time.Now().After(deadline) {
					h.t.Fatal("the PIN pad never waited")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}},
		{"awaiting the role", false, func(h *host, rig *loginRig) {
			h.event(protocol.EvPINRequired)
			h.call(map[string]any{"type": "pin", "pin": "123456"})
			h.event(protocol.EvRoleRequired)
		}},
	}
	for _, chain := range cardChains {
		for _, tt := range tests {
			if tt.pinPad && chain.name != "module" {
				continue
			}
			t.Run(chain.name+"/"+tt.name, func(t *testing.T) {
				rig := chain.start(t)
				if tt.pinPad {
					if err := rig.Card.SetPINPad(true, 20*time.Second); err != nil {
						t.Fatal(err)
					}
				}
				h := rig.start(t)
				h.waitCard() // OpenSC takes a second or two to read a card
				waiting := h.send(map[string]any{"type": "getTicket", "origin": "https://spine.nhs.uk"})
				tt.reach(h, rig)
				if err := rig.card.Remove(); err != nil {
					t.Fatal(err)
				}
				h.event(protocol.EvCardRemoved)
				if r := h.result(waiting); errCode(r) != protocol.CodeCardRemoved {
					t.Errorf("the waiting page got %+v, want CARD_REMOVED", r.Error)
				}
				if r := h.call(map[string]any{"type": "status"}); r.State != protocol.StateNoCard {
					t.Errorf("state after removal: %s", r.State)
				}
				if tt.pinPad {
					if err := rig.Card.SetPINPad(false, 0); err != nil {
						t.Fatal(err)
					}
				}
				if err := rig.card.Insert(); err != nil {
					t.Fatal(err)
				}
				h.event(protocol.EvPINRequired)
			})
		}
	}
}

// TestHost_TenRelaysOneAgent: ten relays started at once with no agent
// running start exactly one (the endpoint's lock, not a race): every relay
// gets the agent's hello, the agent lists ten browsers, and one process
// serves the endpoint once the losers have gone.
func TestHost_TenRelaysOneAgent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts the agents in /proc")
	}
	a := privateAgent(t)
	hosts := make([]*host, 10)
	for i := range hosts {
		hosts[i] = startHost(t, baseConfig(), a.Env())
	}
	for _, h := range hosts {
		h.next("hello", func(f protocol.Frame) bool { return f.Type == "hello" })
	}
	pid, err := a.PID()
	if err != nil {
		t.Fatal(err)
	}
	// Agents that lost the race exit at once; one that held the endpoint
	// beside the winner would stay.
	var agents []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		agents = agentProcesses(t, a.Addr())
		if len(agents) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // waiting for losers to exit, not a timed assertion
	}
	if len(agents) != 1 || agents[0] != pid {
		t.Fatalf("agent processes for the endpoint: %v, want only %d", agents, pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := agentclient.Connect(ctx, agentclient.Options{Address: a.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Request(ctx, protocol.Request{ID: "1", Type: protocol.ReqAgentStatus})
	st, ok := r.Body.(protocol.AgentStatus)
	if r.Err != nil || !ok {
		t.Fatalf("agentStatus: %+v %+v", r.Err, r.Body)
	}
	browsers := 0
	for _, cl := range st.Clients {
		if cl.Kind == "browser" {
			browsers++
		}
	}
	if browsers != 10 {
		t.Errorf("the agent serves %d browsers, want the 10 relays: %+v", browsers, st.Clients)
	}
}

// agentProcesses lists the `oia agent` processes whose environment points
// at the endpoint addr.
func agentProcesses(t *testing.T, addr string) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte(endpoint.EnvAddress + "=" + addr + "\x00")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) < 2 || filepath.Base(args[0]) != "oia" || args[1] != "agent" {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}
