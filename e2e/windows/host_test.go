// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package windows

import (
	"bytes"
	"context"
	"encoding/binary"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/e2e/wine"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// Exit statuses of oia-host (host/cmd/oia-host).
const (
	exitUsage     = 2
	exitForbidden = 3
)

// testPipe is a private agent endpoint: each prefix has its own pipe
// namespace, so the name only keeps the developer's default out.
const testPipe = `\\.\pipe\oia-wine-test`

// hostConfig is a user configuration with no card module and a broker that
// is never reached.
func hostConfig() map[string]any {
	return map[string]any{"pkcs11Modules": []string{}, "brokerURL": "https://127.0.0.1:1"}
}

// startHost starts oia-host.exe in the prefix with args (default: the
// development extension as the caller), spoken to over real pipes by
// e2e/load's driver, which checks that every byte on its standard output
// is a frame. env must name the agent endpoint (OIA_AGENT_ENDPOINT; empty
// for the default pipe).
func startHost(t *testing.T, p *wine.Prefix, cfg map[string]any, args []string, env ...string) *load.Host {
	t.Helper()
	h, err := load.Start(load.Options{
		Binary: hostExe, Dir: t.TempDir(), Config: cfg, Env: env, Args: args,
		Command: func(bin string, args ...string) *exec.Cmd { return p.Command(context.Background(), bin, args...) },
		Path:    p.WinPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Close(10 * time.Second)
		if err := h.ProtocolError(); err != nil {
			t.Errorf("the host broke the framing: %v", err)
		}
	})
	return h
}

// hello waits for the host's first frame; the first start of a relay
// under Wine also starts the agent, so it is given time.
func hello(t *testing.T, h *load.Host) protocol.Frame {
	t.Helper()
	f, err := h.Next(ctxFor(t), "hello", func(f protocol.Frame) bool { return f.Type == "hello" })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func call(t *testing.T, h *load.Host, req map[string]any) protocol.Frame {
	t.Helper()
	f, err := h.Call(ctxFor(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func event(t *testing.T, h *load.Host, name protocol.EventName) protocol.Frame {
	t.Helper()
	f, err := h.Event(ctxFor(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func errCode(f protocol.Frame) protocol.Code {
	if f.Error == nil {
		return ""
	}
	return f.Error.Code
}

// agentFor writes cfg as the user configuration in the prefix and starts
// an agent on testPipe with it, as a first relay would (see startAgent for
// why the tests start it themselves). It returns the environment that
// points relays at it.
func agentFor(t *testing.T, p *wine.Prefix, cfg map[string]any) []string {
	t.Helper()
	path := `C:\oia-test\agent-config.json`
	writeWin(t, p, path, cfg)
	env := []string{"OIA_CONFIG=" + path, `OIA_SYSTEM_CONFIG=C:\oia-test\no-system-config.json`, "OIA_AGENT_ENDPOINT=" + testPipe}
	startAgent(t, p, env...)
	return env
}

// TestHost_Pipes: oia-host.exe over real pipes says hello, answers status,
// refuses an oversize and a malformed frame with their stable codes and
// keeps serving, writes nothing but frames to its standard output, and
// exits within a second of its input closing.
func TestHost_Pipes(t *testing.T) {
	p := newPrefix(t)
	agentFor(t, p, hostConfig())
	h := startHost(t, p, hostConfig(), nil, "OIA_AGENT_ENDPOINT="+testPipe)
	f := hello(t, h)
	if f.Protocol != protocol.Version || f.Version != oia.Version || f.State != protocol.StateNoCard {
		t.Fatalf("hello = %+v", f)
	}
	if r := call(t, h, map[string]any{"type": "status"}); !r.OK || r.State != protocol.StateNoCard {
		t.Errorf("status = %+v", r)
	}

	big := binary.NativeEndian.AppendUint32(nil, nativemsg.MaxInbound+1)
	if err := h.SendRaw(append(big, bytes.Repeat([]byte{'x'}, nativemsg.MaxInbound+1)...)); err != nil {
		t.Fatal(err)
	}
	if ev := event(t, h, protocol.EvError); errCode(ev) != protocol.CodeFrameTooLarge {
		t.Errorf("oversize frame: %+v", ev.Error)
	}
	if err := h.SendRaw(append(binary.NativeEndian.AppendUint32(nil, 5), "{oops"...)); err != nil {
		t.Fatal(err)
	}
	if ev := event(t, h, protocol.EvError); errCode(ev) != protocol.CodeBadRequest {
		t.Errorf("malformed frame: %+v", ev.Error)
	}
	if r := call(t, h, map[string]any{"type": "status"}); !r.OK || r.State != protocol.StateNoCard {
		t.Errorf("status after bad input: %+v", r)
	}
	if r := call(t, h, map[string]any{"type": "getTicketNoAuth", "origin": "https://spine.nhs.uk"}); errCode(r) != protocol.CodeTicketNotAvailable {
		t.Errorf("getTicketNoAuth without a session: %+v", r)
	}

	start := time.Now()
	if err := h.Close(5 * time.Second); err != nil {
		t.Errorf("exit after EOF: %v\n%s", err, h.Stderr())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("exited %v after its input closed, want within 1 s", d)
	} else {
		t.Logf("exited %v after its input closed", d.Round(time.Millisecond))
	}
}

// TestHost_StdoutTakeover runs host/nativemsg's TestTakeStdout, built for
// Windows, under Wine: after TakeStdout, output through os.Stdout and a
// WriteFile to the handle GetStdHandle(STD_OUTPUT_HANDLE) then returns
// (as a C PKCS#11 module would write) both reach standard error, and only
// the frame reaches the real standard output.
func TestHost_StdoutTakeover(t *testing.T) {
	p := newPrefix(t)
	exe := `C:\oia-test\nativemsg.test.exe`
	copyInto(t, windowsBuild(t)+"/wintest/nativemsg.test.exe", p.MustPath(exe))
	r := run(t, p, exe, wine.RunOptions{Args: []string{"-test.run=^TestTakeStdout$", "-test.v", "-test.count=1"}})
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "--- PASS: TestTakeStdout") {
		t.Fatalf("TestTakeStdout under Wine: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}

// TestHost_Callers: the extension id on the command line decides, with
// Chrome's --parent-window=<n> argument on Windows anywhere in it.
func TestHost_Callers(t *testing.T) {
	p := newPrefix(t)
	env := agentFor(t, p, hostConfig())
	tests := []struct {
		name   string
		args   []string
		status int // 0: served (a hello comes)
		stderr string
	}{
		{"Chrome's --parent-window after the caller", []string{devCaller, "--parent-window=0"}, 0, ""},
		{"--parent-window before the caller", []string{"--parent-window=1234", devCaller}, 0, ""},
		{"an extension not in allowedExtensions, with --parent-window", []string{"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/", "--parent-window=0"}, exitForbidden, "allowedExtensions"},
		{"a Firefox add-on not in allowedExtensions", []string{`C:\x\org.openidentityagent.host.json`, "evil@example.org"}, exitForbidden, "allowedExtensions"},
		{"no caller: started by hand", nil, exitUsage, "no caller"},
		{"only --parent-window: no caller", []string{"--parent-window=0"}, exitUsage, "no caller"},
		{"a malformed chrome caller", []string{"chrome-extension://../"}, exitUsage, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status == 0 {
				h := startHost(t, p, hostConfig(), tt.args, "OIA_AGENT_ENDPOINT="+testPipe)
				if f := hello(t, h); f.Protocol != protocol.Version {
					t.Errorf("hello = %+v", f)
				}
				return
			}
			r := run(t, p, hostExe, wine.RunOptions{Args: tt.args, Env: env})
			if r.ExitCode != tt.status {
				t.Fatalf("exit %d, want %d; stderr %q", r.ExitCode, tt.status, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", r.Stderr, tt.stderr)
			}
			if r.Stdout != "" {
				t.Errorf("a refused host wrote to stdout: %q", r.Stdout)
			}
		})
	}
}

// TestHost_StartsAgent: a relay that finds no agent starts `oia.exe agent`
// from its own folder, detached (host/detach); the agent serves a second
// relay, outlives the first when that one is killed as a browser's crash
// would, and holds none of its standard streams. Under Wine the first
// relay is the agent's unserved first client (docs/installer.md, "Tested
// under Wine"): it gets its hello all the same, by dialling again when the
// attach goes unanswered (relay.Handshake).
func TestHost_StartsAgent(t *testing.T) {
	p := newPrefix(t)
	first := startHost(t, p, hostConfig(), nil, "OIA_AGENT_ENDPOINT="+testPipe)
	if f := hello(t, first); f.Version != oia.Version {
		t.Errorf("the first relay's hello = %+v", f)
	}
	if !agentRunning(p) {
		t.Fatalf("the first relay got a hello but no oia.exe agent runs: %q", p.Processes())
	}
	env := []string{"OIA_AGENT_ENDPOINT=" + testPipe}
	st := waitAgent(t, p, env...)
	second := startHost(t, p, hostConfig(), nil, env...)
	hello(t, second)

	done := make(chan struct{})
	go func() { first.KillRelay(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the killed relay's output stays open: a process it started holds it")
	}
	after := waitAgent(t, p, env...)
	if after.PID != st.PID {
		t.Errorf("the agent changed from pid %d to %d when the first relay died", st.PID, after.PID)
	}
	relays := 0
	for _, c := range after.Clients {
		if c.Kind == "browser" && c.Exe == hostExe {
			relays++
		}
	}
	if relays != 1 {
		t.Errorf("after the first relay died the agent lists %+v, want the second relay alone", after.Clients)
	}
	if r := call(t, second, map[string]any{"type": "status"}); !r.OK {
		t.Errorf("the second relay's status: %+v", r)
	}
}
