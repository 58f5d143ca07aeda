// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package endpoint

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// addr returns a fresh endpoint address in a private directory.
func addr(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "oia", socketName)
}

func TestListen_SecondAgentGetsErrRunning(t *testing.T) {
	a := addr(t)
	l, err := Listen(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(a, nil); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Listen: %v, want ErrRunning", err)
	}
}

func TestListen_TenAtOnceMakeOne(t *testing.T) {
	a := addr(t)
	var mu sync.Mutex
	var won []*Listener
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Listen(a, nil)
			if err == nil {
				mu.Lock()
				won = append(won, l)
				mu.Unlock()
			} else if !errors.Is(err, ErrRunning) {
				t.Errorf("Listen: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d listeners hold the endpoint, want 1", len(won))
	}
	won[0].Close()
}

func TestListen_ReplacesStaleSocket(t *testing.T) {
	a := addr(t)
	if err := os.Mkdir(filepath.Dir(a), 0o700); err != nil {
		t.Fatal(err)
	}
	// A crashed agent leaves its socket behind, with nobody listening.
	ln, err := net.Listen("unix", a)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, _, err := Dial(context.Background(), a); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("Dial to a stale socket: %v, want ErrNoAgent", err)
	}
	l, err := Listen(a, nil)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	go acceptOne(l)
	c, p, err := Dial(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if p.UID != os.Getuid() || p.PID != os.Getpid() {
		t.Errorf("server peer = %+v, want this process", p)
	}
}

func acceptOne(l *Listener) {
	c, _, err := l.Accept()
	if err == nil {
		c.Close()
	}
}

func TestAccept_ReportsPeer(t *testing.T) {
	a := addr(t)
	l, err := Listen(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan Peer, 1)
	go func() {
		c, p, err := l.Accept()
		if err == nil {
			c.Close()
		}
		got <- p
	}()
	c, _, err := Dial(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := <-got
	exe, _ := os.Executable()
	if p.UID != os.Getuid() || p.PID != os.Getpid() {
		t.Errorf("peer = %+v, want uid %d pid %d", p, os.Getuid(), os.Getpid())
	}
	if p.Exe != "" && p.Exe != exe {
		t.Errorf("peer exe = %q, want %q", p.Exe, exe)
	}
}

// TestAccept_RefusesOtherUser makes the listener believe it runs as
// another user: its own connection is then another user's, and must be
// closed unanswered.
func TestAccept_RefusesOtherUser(t *testing.T) {
	a := addr(t)
	refused := make(chan error, 1)
	l, err := Listen(a, func(_ Peer, err error) { refused <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.same = func(p Peer) bool { return p.UID == os.Getuid()+4242 }
	accepted := make(chan struct{})
	go func() {
		if c, _, err := l.Accept(); err == nil {
			c.Close()
			close(accepted)
		}
	}()
	c, err := net.Dial("unix", a) // not Dial: it would refuse the server first
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-refused:
		var nu *NotSameUserError
		if !errors.As(err, &nu) {
			t.Fatalf("refused with %v, want NotSameUserError", err)
		}
	case <-accepted:
		t.Fatal("a connection from another user was accepted")
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was neither refused nor accepted")
	}
}

func TestDial_RefusesUnsafeDirectory(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, dir string)
		reason string
	}{
		{"group-readable", func(t *testing.T, dir string) { must(t, os.Mkdir(dir, 0o750)); must(t, os.Chmod(dir, 0o750)) },
			"another user in the group could reach the socket"},
		{"symlink", func(t *testing.T, dir string) {
			real := dir + ".real"
			must(t, os.Mkdir(real, 0o700))
			must(t, os.Symlink(real, dir))
		}, "a link could point the client at another user's directory"},
		{"file", func(t *testing.T, dir string) { must(t, os.WriteFile(dir, nil, 0o600)) },
			"not a directory at all"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "oia")
			tc.setup(t, dir)
			a := filepath.Join(dir, socketName)
			if _, _, err := Dial(context.Background(), a); err == nil || errors.Is(err, ErrNoAgent) {
				t.Errorf("Dial: %v, want a refusal (%s)", err, tc.reason)
			}
			if l, err := Listen(a, nil); err == nil {
				l.Close()
				t.Errorf("Listen succeeded; want a refusal (%s)", tc.reason)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestHeld_FalseOnceSocketRemoved(t *testing.T) {
	a := addr(t)
	l, err := Listen(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Held() {
		t.Fatal("Held() = false right after Listen")
	}
	must(t, os.Remove(a))
	if l.Held() {
		t.Fatal("Held() = true after the socket was removed")
	}
}

func TestDialOrStart_StartsOnceAndConnects(t *testing.T) {
	a := addr(t)
	held := make(chan *Listener, 1)
	starts := 0
	start := func() error {
		starts++
		go func() {
			time.Sleep(30 * time.Millisecond)
			l, err := Listen(a, nil)
			if err != nil {
				t.Error(err)
				close(held)
				return
			}
			held <- l
			acceptOne(l)
		}()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := DialOrStart(ctx, a, start)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if starts != 1 {
		t.Errorf("start called %d times, want 1", starts)
	}
	if l := <-held; l != nil {
		l.Close()
	}
}

// TestAccept_RefusesRealOtherUser connects as the user nobody, where the
// test runs as root: the directory is opened up (as a careless
// administrator might) so that only the peer check stands in the way.
func TestAccept_RefusesRealOtherUser(t *testing.T) {
	if os.Getenv("OIA_ENDPOINT_CHILD") != "" {
		c, err := net.Dial("unix", os.Getenv("OIA_ENDPOINT_CHILD"))
		if err != nil {
			os.Exit(3)
		}
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil {
			os.Exit(0) // closed unanswered: what the agent must do
		}
		os.Exit(4)
	}
	if os.Getuid() != 0 {
		t.Skip("skipped: needs root to run a client as another user (the unit test TestAccept_RefusesOtherUser covers the check)")
	}
	base, err := os.MkdirTemp("", "oia-endpoint-")
	must(t, err)
	defer os.RemoveAll(base)
	must(t, os.Chmod(base, 0o755))
	a := filepath.Join(base, "oia", socketName)
	refused := make(chan Peer, 1)
	l, err := Listen(a, func(p Peer, _ error) { refused <- p })
	must(t, err)
	defer l.Close()
	go func() {
		if c, _, err := l.Accept(); err == nil {
			c.Write([]byte("x"))
			c.Close()
		}
	}()
	must(t, os.Chmod(filepath.Dir(a), 0o755))
	must(t, os.Chmod(a, 0o777))
	exe, err := os.Executable()
	must(t, err)
	bin := filepath.Join(base, "child.test")
	data, err := os.ReadFile(exe)
	must(t, err)
	must(t, os.WriteFile(bin, data, 0o755))
	cmd := exec.Command(bin, "-test.run=^TestAccept_RefusesRealOtherUser$")
	cmd.Env = append(os.Environ(), "OIA_ENDPOINT_CHILD="+a)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the client running as nobody: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	select {
	case p := <-refused:
		if p.UID != 65534 {
			t.Errorf("refused peer uid %d, want 65534", p.UID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other user's connection was not reported as refused")
	}
}
