// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// defaultDialWait bounds a dial made to learn who holds an endpoint.
const defaultDialWait = 2 * time.Second

// pipePrefix starts every agent pipe's name; the user's SID and the
// desktop session follow, so each user's each session has its own.
const pipePrefix = `\\.\pipe\org.openidentityagent.agent.`

func selfSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("endpoint: cannot read this process's user: %w", err)
	}
	return u.User.Sid.String(), nil
}

func defaultAddress() (string, error) {
	sid, err := selfSID()
	if err != nil {
		return "", err
	}
	var session uint32
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &session); err != nil {
		return "", fmt.Errorf("endpoint: cannot read this process's session: %w", err)
	}
	return fmt.Sprintf("%s%s.%d", pipePrefix, sid, session), nil
}

// pipeSDDL grants the user's SID, and no one else, full access to the pipe
// (D:P: a protected DACL, so nothing is inherited).
func pipeSDDL(sid string) string { return "D:P(A;;GA;;;" + sid + ")" }

func listen(addr string) (net.Listener, func() error, func() bool, error) {
	sid, err := selfSID()
	if err != nil {
		return nil, nil, nil, err
	}
	// go-winio creates the first instance with FILE_CREATE, which fails
	// when the pipe exists: creating it is the lock. Remote clients are
	// rejected (FILE_PIPE_REJECT_REMOTE_CLIENTS).
	ln, err := winio.ListenPipe(addr, &winio.PipeConfig{SecurityDescriptor: pipeSDDL(sid)})
	if err != nil {
		// Someone has the name: our own agent, or a squatter.
		ctx, cancel := context.WithTimeout(context.Background(), defaultDialWait)
		defer cancel()
		if c, _, derr := Dial(ctx, addr); derr == nil {
			c.Close()
			return nil, nil, nil, ErrRunning
		} else if nse := (*NotSameUserError)(nil); errors.As(derr, &nse) {
			return nil, nil, nil, derr
		}
		return nil, nil, nil, fmt.Errorf("endpoint: cannot create the agent pipe: %w", err)
	}
	return ln, func() error { return nil }, func() bool { return true }, nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	if !strings.HasPrefix(addr, `\\.\pipe\`) {
		return nil, fmt.Errorf("endpoint: %q is not a local pipe name", addr)
	}
	c, err := winio.DialPipeContext(ctx, addr)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return nil, fmt.Errorf("%w at %s", ErrNoAgent, addr)
		}
		return nil, err
	}
	return c, nil
}

func sameUser(p Peer) bool {
	sid, err := selfSID()
	return err == nil && p.SID != "" && strings.EqualFold(p.SID, sid)
}

// handleOf returns the pipe's handle (go-winio's pipes expose Fd).
func handleOf(c net.Conn) (windows.Handle, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return 0, errors.New("endpoint: not a named pipe")
	}
	return windows.Handle(f.Fd()), nil
}

// peerOf names the pipe's client process and its token's user.
func peerOf(c net.Conn) (Peer, error) {
	h, err := handleOf(c)
	if err != nil {
		return Peer{UID: -1}, err
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil {
		return Peer{UID: -1}, fmt.Errorf("endpoint: cannot name the pipe's client: %w", err)
	}
	return processPeer(pid)
}

// serverOf names the pipe's server process and its token's user.
func serverOf(c net.Conn) (Peer, error) {
	h, err := handleOf(c)
	if err != nil {
		return Peer{UID: -1}, err
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		return Peer{UID: -1}, fmt.Errorf("endpoint: cannot name the pipe's server: %w", err)
	}
	return processPeer(pid)
}

func processPeer(pid uint32) (Peer, error) {
	p := Peer{UID: -1, PID: int(pid)}
	proc, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return p, fmt.Errorf("endpoint: cannot open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(proc)
	var tok windows.Token
	if err := windows.OpenProcessToken(proc, windows.TOKEN_QUERY, &tok); err != nil {
		return p, fmt.Errorf("endpoint: cannot read process %d's token: %w", pid, err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return p, fmt.Errorf("endpoint: cannot read process %d's user: %w", pid, err)
	}
	p.SID = u.User.Sid.String()
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(proc, 0, &buf[0], &n) == nil {
		p.Exe = windows.UTF16ToString(buf[:n])
	}
	return p, nil
}
