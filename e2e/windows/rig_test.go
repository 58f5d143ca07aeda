// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package windows

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/wine"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := wine.RemoveTemplate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// The ids of the development extensions (config defaults in debug builds).
const (
	chromeID  = "jojkkadnmnpkbklmagcdhigmbdlcaoha"
	firefoxID = "identity-agent@openidentityagent.org"
	devCaller = "chrome-extension://" + chromeID + "/"
	// installDir is where the tests install the executables, as the
	// packages do.
	installDir = `C:\Program Files\OIA`
	hostExe    = installDir + `\oia-host.exe`
	oiaExe     = installDir + `\oia.exe`
)

var (
	buildOnce sync.Once
	buildDir  string // a build made by this process, removed by TestMain
	buildRoot string
	buildErr  error
)

// windowsBuild returns the build folder holding wintest/ (oia-host.exe,
// oia.exe, nativemsg.test.exe) and windows/{x86,x64}/ (TicketApiDll.dll,
// ticketapi-loadlib.exe): $OIA_WINDOWS_BUILD under make test, else one
// made now with `make windows-test-bin` (once per process). It skips the
// test when Wine or mingw-w64 is missing.
func windowsBuild(t *testing.T) string {
	t.Helper()
	if err := wine.Available(); err != nil {
		t.Skip(err)
	}
	buildOnce.Do(func() {
		if d := os.Getenv("OIA_WINDOWS_BUILD"); d != "" {
			if _, err := os.Stat(filepath.Join(d, "wintest", "oia-host.exe")); err == nil {
				buildRoot = d
				return
			}
		}
		for _, tool := range []string{"make", "i686-w64-mingw32-gcc", "x86_64-w64-mingw32-gcc"} {
			if _, err := exec.LookPath(tool); err != nil {
				buildErr = fmt.Errorf("skip: %s is not installed (scripts/deps.sh test installs it)", tool)
				return
			}
		}
		if buildDir, buildErr = os.MkdirTemp("", "oia-wintest-"); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-s", "-C", repoRoot(), "BUILD="+buildDir, "windows-test-bin")
		for _, kv := range os.Environ() {
			if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("make windows-test-bin: %v\n%s", err, out)
			return
		}
		buildRoot = buildDir
	})
	if buildErr != nil {
		if msg, ok := strings.CutPrefix(buildErr.Error(), "skip: "); ok {
			t.Skip(msg)
		}
		t.Fatal(buildErr)
	}
	return buildRoot
}

// repoRoot is the module's root (this package is e2e/windows).
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// newPrefix makes a Wine prefix with oia-host.exe and oia.exe installed in
// installDir.
func newPrefix(t *testing.T) *wine.Prefix {
	t.Helper()
	b := windowsBuild(t)
	start := time.Now()
	p := wine.NewPrefix(t)
	t.Logf("wine prefix ready in %v", time.Since(start).Round(time.Millisecond))
	for _, exe := range []string{"oia-host.exe", "oia.exe"} {
		copyInto(t, filepath.Join(b, "wintest", exe), p.MustPath(installDir+`\`+exe))
	}
	return p
}

// copyInto copies the file src to dst, making dst's folder.
func copyInto(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// writeWin writes v as JSON to the Windows path win in the prefix.
func writeWin(t *testing.T, p *wine.Prefix, win string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := p.MustPath(win)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ctxFor bounds one step of a test, generously: Wine on a loaded 2-core
// machine is slow to start a program the first time.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run runs a program in the prefix and fails the test when it cannot start.
func run(t *testing.T, p *wine.Prefix, exe string, o wine.RunOptions) wine.Result {
	t.Helper()
	r, err := p.Run(ctxFor(t), exe, o)
	if err != nil {
		t.Fatalf("%s %q: %v\n%s%s", exe, o.Args, err, r.Stdout, r.Stderr)
	}
	return r
}

// agentStatus is the part of `oia agent status --json` the tests read.
type agentStatus struct {
	PID     int    `json:"pid"`
	Version string `json:"version"`
	Clients []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
		PID  int    `json:"pid"`
		Exe  string `json:"exe"`
	} `json:"clients"`
}

// waitAgent polls `oia agent status --json` until an agent answers, for
// up to a minute. Under Wine the first client of a freshly started agent
// times out after 5 s (docs/installer.md, "Tested under Wine"): the next
// one attaches.
func waitAgent(t *testing.T, p *wine.Prefix, env ...string) agentStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last wine.Result
	for time.Now().Before(deadline) {
		last = run(t, p, oiaExe, wine.RunOptions{Args: []string{"agent", "status", "--json"}, Env: env})
		var s agentStatus
		if last.ExitCode == 0 && json.Unmarshal([]byte(last.Stdout), &s) == nil && s.PID > 0 {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no agent answered within a minute: %s%s", last.Stdout, last.Stderr)
	return agentStatus{}
}

// startAgent starts `oia.exe agent` in the prefix, its output to a file
// (never the test's), and waits until it answers. It returns the agent's
// output file. The agent ends when the test stops the prefix.
//
// The tests start the agent themselves rather than let the first relay
// start it: under Wine the first client of a new agent pipe is never
// served (docs/installer.md, "Tested under Wine"); a relay that is that
// client dials again after 3 s, which would slow every test. waitAgent's
// retries use up that first connection.
func startAgent(t *testing.T, p *wine.Prefix, env ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "agent.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := p.Command(context.Background(), oiaExe, "agent")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	waitAgent(t, p, env...)
	return out
}

// stopAgent runs `oia agent stop` and waits until no agent answers.
func stopAgent(t *testing.T, p *wine.Prefix, env ...string) {
	t.Helper()
	r := run(t, p, oiaExe, wine.RunOptions{Args: []string{"agent", "stop"}, Env: env})
	if r.ExitCode != 0 {
		t.Fatalf("oia agent stop: exit %d: %s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for agentRunning(p) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent still runs 30 s after oia agent stop: %q", p.Processes())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// agentRunning reports whether an `oia.exe agent` process of the prefix
// is alive.
func agentRunning(p *wine.Prefix) bool {
	for _, proc := range p.Processes() {
		if strings.Contains(proc, "oia.exe agent") {
			return true
		}
	}
	return false
}
