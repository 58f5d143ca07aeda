// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package windows

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/e2e/wine"
	"github.com/openidentityagent/oia/host/protocol"
)

// agentEndpoint reads the pipe the agent announced in its log ("agent
// start").
func agentEndpoint(t *testing.T, p *wine.Prefix) string {
	t.Helper()
	f, err := os.Open(p.MustPath(p.LocalAppData() + `\OIA\host.log`))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ Msg, Endpoint string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "agent start" && e.Endpoint != "" {
			return e.Endpoint
		}
	}
	t.Fatal("the agent's log has no 'agent start' line naming its endpoint")
	return ""
}

// pipeName is the agent's default pipe: the user's SID and the session.
var pipeName = regexp.MustCompile(`^\\\\\.\\pipe\\org\.openidentityagent\.agent\.(S-1-5-[0-9-]+)\.([0-9]+)$`)

// TestAgent_NamedPipe: two oia-host.exe relays share one `oia.exe agent`
// on the default pipe (the user's SID and session in its name): the agent
// lists both, both see its one state, and both end when it stops. The
// pipe's DACL, read back, is protected and grants the user's SID alone.
// Wine runs every program as one user, so a second user's refusal cannot
// be shown here: that subtest skips, saying so.
func TestAgent_NamedPipe(t *testing.T) {
	p := newPrefix(t)
	cfgPath := `C:\oia-test\agent-config.json`
	writeWin(t, p, cfgPath, hostConfig())
	env := []string{"OIA_CONFIG=" + cfgPath, `OIA_SYSTEM_CONFIG=C:\oia-test\no-system-config.json`}
	startAgent(t, p, env...)
	addr := agentEndpoint(t, p)
	m := pipeName.FindStringSubmatch(addr)
	if m == nil {
		t.Fatalf("the agent listens on %q, not the default pipe named for the user and session", addr)
	}
	sid := m[1]

	// "OIA_AGENT_ENDPOINT=" (empty): the default pipe, not a private one.
	a := startHost(t, p, hostConfig(), nil, "OIA_AGENT_ENDPOINT=")
	b := startHost(t, p, hostConfig(), nil, "OIA_AGENT_ENDPOINT=")
	for _, h := range []struct {
		name string
		f    protocol.Frame
	}{{"a", hello(t, a)}, {"b", hello(t, b)}} {
		if h.f.State != protocol.StateNoCard {
			t.Errorf("relay %s: hello %+v", h.name, h.f)
		}
	}
	st := waitAgent(t, p, env...)
	relays := map[int]bool{}
	for _, c := range st.Clients {
		if c.Kind == "browser" && c.Exe == hostExe {
			relays[c.PID] = true
		}
	}
	if len(relays) != 2 {
		t.Errorf("the agent lists %+v, want the two relays (%s)", st.Clients, hostExe)
	}
	for name, h := range map[string]*load.Host{"a": a, "b": b} {
		if r := call(t, h, map[string]any{"type": "status"}); !r.OK || r.State != protocol.StateNoCard {
			t.Errorf("relay %s: status %+v", name, r)
		}
	}

	t.Run("the pipe's DACL grants the user alone", func(t *testing.T) {
		sd, err := p.SecurityDescriptor(ctxFor(t), addr)
		if err != nil {
			t.Fatal(err)
		}
		_, dacl, ok := strings.Cut(sd, "D:")
		if !ok || !strings.HasPrefix(dacl, "P") {
			t.Fatalf("security descriptor %q: want a protected DACL (D:P)", sd)
		}
		aces := regexp.MustCompile(`\(([^)]*)\)`).FindAllStringSubmatch(dacl, -1)
		if len(aces) != 1 {
			t.Fatalf("DACL %q has %d entries, want one for %s", dacl, len(aces), sid)
		}
		f := strings.Split(aces[0][1], ";")
		if len(f) != 6 || f[0] != "A" || f[5] != sid || (f[2] != "GA" && f[2] != "FA") {
			t.Errorf("DACL entry %q, want full access allowed to %s only", aces[0][1], sid)
		}
		t.Logf("pipe %s: %s", addr, sd)
	})
	t.Run("another user is refused", func(t *testing.T) {
		t.Skip("wine runs every program as one user (no second account, no LogonUser): the refusal of another user is checked on the DACL above and on Windows only")
	})

	// Stopping the agent ends both relays: they hold no session of their
	// own.
	stopAgent(t, p, env...)
	for name, h := range map[string]*load.Host{"a": a, "b": b} {
		deadline := time.Now().Add(10 * time.Second)
		for !h.Exited() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !h.Exited() {
			t.Errorf("relay %s still runs 10 s after the agent stopped", name)
		}
	}
}

// TestConfigAndLog: the Windows paths of the configuration and the log.
// oia-host.exe reads %ProgramData%\OIA\config.json and
// %APPDATA%\OIA\config.json; the system file, which Wine can only make
// owned by the user, is refused as CONFIG_UNSAFE, as Windows refuses a
// system file a user owns; named by OIA_SYSTEM_CONFIG (trusted from the
// user in debug builds) its values apply. A relay with no logFile logs to
// %LOCALAPPDATA%\OIA\host.log.
func TestConfigAndLog(t *testing.T) {
	p := newPrefix(t)
	sys := p.ProgramData() + `\OIA\config.json`
	user := p.AppData() + `\OIA\config.json`
	writeWin(t, p, sys, map[string]any{"allowedOrigins": []string{"https://*.example.nhs.uk"}})
	writeWin(t, p, user, map[string]any{"pinTimeoutSeconds": 60})

	r := run(t, p, hostExe, wine.RunOptions{Args: []string{"--print-config"}})
	if r.ExitCode != 0 {
		t.Fatalf("--print-config: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		"system file: " + sys + "\r\n", "user file:   " + user + "\r\n",
		"pinTimeoutSeconds      60\t(" + user + ")",
		"CONFIG_UNSAFE: config: " + sys + ": the file is owned by S-1-5-21-",
	} {
		if !strings.Contains(r.Stdout, want) && !strings.Contains(r.Stdout, strings.TrimSuffix(want, "\r\n")+"\n") {
			t.Errorf("--print-config lacks %q:\n%s", want, r.Stdout)
		}
	}
	r = run(t, p, hostExe, wine.RunOptions{Args: []string{"--print-config"}, Env: []string{"OIA_SYSTEM_CONFIG=" + sys}})
	if want := `allowedOrigins         ["https://*.example.nhs.uk"]	(` + sys; !strings.Contains(r.Stdout, want) {
		t.Errorf("with OIA_SYSTEM_CONFIG=%s, --print-config lacks %q:\n%s", sys, want, r.Stdout)
	}

	cfg := hostConfig()
	cfg["logFile"] = "" // the default
	agentFor(t, p, cfg)
	h := startHost(t, p, cfg, nil, "OIA_AGENT_ENDPOINT="+testPipe)
	hello(t, h)
	if err := h.Close(5 * time.Second); err != nil {
		t.Errorf("the relay's exit: %v", err)
	}
	log, err := os.ReadFile(p.MustPath(p.LocalAppData() + `\OIA\host.log`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"component":"oia-host"`) || !strings.Contains(string(log), `"msg":"start"`) {
		t.Errorf("%%LOCALAPPDATA%%\\OIA\\host.log has no start line of oia-host:\n%s", log)
	}
}
