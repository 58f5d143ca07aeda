// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartTimeout bounds Wine's start-up work: making the template prefix
// (wineboot, several seconds on a loaded 2-core machine) and a prefix's
// first program.
const StartTimeout = 3 * time.Minute

// template is this process's template prefix, made once.
var (
	templateMu   sync.Mutex
	templateDir  string
	templateErr  error
	templateCost time.Duration
	sdExe        string
)

// RemoveTemplate removes this process's template prefix, if one was made.
// Call it from TestMain after m.Run; prefixes made from it are unaffected.
func RemoveTemplate() error {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateDir == "" {
		return nil
	}
	err := os.RemoveAll(filepath.Dir(templateDir))
	templateDir, templateErr = "", nil
	return err
}

// TemplateCost is how long making this process's template prefix took
// (zero before one is made).
func TemplateCost() time.Duration {
	templateMu.Lock()
	defer templateMu.Unlock()
	return templateCost
}

// makeTemplate makes the template prefix once: wineboot, the shim in
// system32, then its wineserver stopped so that nothing writes to it while
// prefixes are copied from it.
func makeTemplate(t tools) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateDir != "" || templateErr != nil {
		return templateDir, templateErr
	}
	start := time.Now()
	dir, err := buildTemplate(t)
	if err != nil {
		templateErr = err
		return "", err
	}
	templateDir, templateCost = dir, time.Since(start)
	return dir, nil
}

func buildTemplate(t tools) (string, error) {
	dll, err := buildC(t.cc64, "bcryptprimitives.dll", shimBcrypt, true, "-ladvapi32")
	if err != nil {
		return "", err
	}
	if sdExe, err = buildC(t.cc64, "sd.exe", shimSD, false, "-ladvapi32"); err != nil {
		return "", err
	}
	removeStaleTemplates()
	parent, err := os.MkdirTemp("", fmt.Sprintf("oia-wine-template-%d-", os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("wine: template: %w", err)
	}
	dir := filepath.Join(parent, "prefix")
	p := &Prefix{Dir: dir, t: t}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	fail := func(err error) (string, error) {
		_ = p.stopServer()
		_ = os.RemoveAll(parent)
		return "", err
	}
	boot := exec.CommandContext(ctx, t.wine64, "wineboot", "--init")
	boot.Env = p.baseEnv()
	if b, err := boot.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("wine: wineboot in %s: %v\n%s", dir, err, b))
	}
	if err := p.stopServer(); err != nil {
		return fail(err)
	}
	sys32 := filepath.Join(dir, "drive_c", "windows", "system32")
	if err := copyFile(dll, filepath.Join(sys32, "bcryptprimitives.dll")); err != nil {
		return fail(err)
	}
	return dir, nil
}

// removeStaleTemplates removes the template prefixes of test processes
// that ended without [RemoveTemplate] (a test binary killed by its
// timeout): their folders name their process id.
func removeStaleTemplates() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "oia-wine-template-*-*"))
	for _, dir := range old {
		pid, err := strconv.Atoi(strings.Split(strings.TrimPrefix(filepath.Base(dir), "oia-wine-template-"), "-")[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); errors.Is(err, os.ErrNotExist) {
			_ = os.RemoveAll(dir)
		}
	}
}

// Prefix is a private Wine prefix (WINEPREFIX) with its own registry,
// wineserver and named pipes.
type Prefix struct {
	// Dir is the prefix's folder; C: is Dir/drive_c.
	Dir string
	// User is the Windows user name Wine runs as (its profile is
	// C:\users\<User>).
	User string
	t    tools
	// sd is sd.exe in the prefix (C:\oia-wine\sd.exe).
	sd string
}

// NewPrefix makes a prefix for the test tb and stops it when tb ends: its
// wineserver is killed and waited for, the test fails if any process of
// the prefix outlives it, and the folder is removed. It skips tb, with the
// reason, when Wine is not available.
func NewPrefix(tb testing.TB) *Prefix {
	tb.Helper()
	if err := Available(); err != nil {
		tb.Skip(err)
	}
	p, err := Create(filepath.Join(tb.TempDir(), "wine"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Error(err)
		}
	})
	return p
}

// Create makes a prefix in dir, which must not exist, by copying the
// process's template (made now if need be), starts its wineserver and
// runs a first program, so that Wine's background services start now,
// detached from any caller's output. Close stops it.
func Create(dir string) (*Prefix, error) {
	t, err := find()
	if err != nil {
		return nil, err
	}
	tpl, err := makeTemplate(t)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("wine: %w", err)
	}
	// Hard links for everything (Wine's DLLs are most of the 700 MB), then
	// real copies of the files Wine rewrites in place.
	if b, err := exec.Command("cp", "-al", tpl, dir).CombinedOutput(); err != nil {
		if b2, err2 := exec.Command("cp", "-a", tpl, dir).CombinedOutput(); err2 != nil {
			return nil, fmt.Errorf("wine: copy the template prefix: %v\n%s%s", err2, b, b2)
		}
	}
	for _, f := range []string{"system.reg", "user.reg", "userdef.reg", ".update-timestamp"} {
		src := filepath.Join(tpl, f)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := filepath.Join(dir, f)
		_ = os.Remove(dst)
		if err := copyFile(src, dst); err != nil {
			return nil, err
		}
	}
	p := &Prefix{Dir: dir, t: t}
	// sd.exe lives in the prefix under a path without spaces.
	p.sd = filepath.Join(dir, "drive_c", "oia-wine", "sd.exe")
	if err := os.MkdirAll(filepath.Dir(p.sd), 0o755); err != nil {
		return nil, fmt.Errorf("wine: %w", err)
	}
	if err := copyFile(sdExe, p.sd); err != nil {
		return nil, err
	}
	// A persistent wineserver, started with no standard streams of ours:
	// a server that a program started would inherit that program's.
	srv := exec.Command(t.server, "-p")
	srv.Env = p.baseEnv()
	if err := srv.Run(); err != nil {
		return nil, fmt.Errorf("wine: start wineserver for %s: %w", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	r, err := p.Run(ctx, "cmd.exe", RunOptions{Args: []string{"/c", "echo %USERNAME%"}})
	if err != nil || r.ExitCode != 0 {
		_ = p.Close()
		return nil, fmt.Errorf("wine: first program in %s: %v (exit %d)\n%s%s", dir, err, r.ExitCode, r.Stdout, r.Stderr)
	}
	p.User = strings.TrimSpace(r.Stdout)
	if p.User == "" {
		_ = p.Close()
		return nil, fmt.Errorf("wine: %s: cmd.exe did not name the user", dir)
	}
	return p, nil
}

// baseEnv is the environment of every Wine process of the prefix: this
// process's, without OIA_ variables (a developer's endpoint or
// configuration must not leak in), plus Wine's settings.
func (p *Prefix) baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "OIA_"), strings.HasPrefix(k, "WINE"), k == "DISPLAY", k == "WAYLAND_DISPLAY":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WINEPREFIX="+p.Dir, "WINEDEBUG=-all", "WINEDLLOVERRIDES="+Overrides)
}

// Close kills every process of the prefix (wineserver -k), waits until
// its wineserver and processes have gone, and removes the prefix's
// folder. It fails, naming them, if processes of the prefix still run
// after 15 s.
func (p *Prefix) Close() error {
	err := p.stopServer()
	if left := p.processes(); len(left) > 0 {
		err = errors.Join(err, fmt.Errorf("wine: processes of %s outlived wineserver -k: %s", p.Dir, strings.Join(left, "; ")))
	}
	if rerr := os.RemoveAll(p.Dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("wine: remove %s: %w", p.Dir, rerr))
	}
	return err
}

// stopServer kills the prefix's processes and waits for its wineserver
// and for every process that named the prefix to end.
func (p *Prefix) stopServer() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	kill := exec.CommandContext(ctx, p.t.server, "-k")
	kill.Env = p.baseEnv()
	_ = kill.Run() // fails when no server runs: nothing to stop
	wait := exec.CommandContext(ctx, p.t.server, "-w")
	wait.Env = p.baseEnv()
	_ = wait.Run()
	for len(p.processes()) > 0 {
		select {
		case <-ctx.Done():
			return nil // Close reports them
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// processes lists the live processes (not zombies) whose environment
// names this prefix, as "pid command".
func (p *Prefix) processes() []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte("WINEPREFIX=" + p.Dir + "\x00")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(bytes.TrimRight(cmd, "\x00"), []byte{0}, []byte{' '})))
	}
	return out
}

// Processes lists the prefix's live processes as "pid command line": for
// tests that check a program has ended.
func (p *Prefix) Processes() []string { return p.processes() }

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("wine: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("wine: %w", err)
	}
	return nil
}
