// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package endpoint is the agent's local endpoint: where the agent listens,
// how its clients (the browsers' relays, the oia command, the Ticket API
// library) reach it, and the check that both ends run as the same user
// (docs/protocol.md §6).
//
// # Where
//
// On Unix the endpoint is the socket agent.sock in a directory of the
// user's alone: $XDG_RUNTIME_DIR/oia, or ${TMPDIR:-/tmp}/oia-<uid> where
// XDG_RUNTIME_DIR is unset. The directory must be owned by the user and
// closed to group and others; a client refuses one that is not. On Windows
// it is the named pipe \\.\pipe\org.openidentityagent.agent.<SID>.<session>,
// whose DACL grants the user's SID alone. OIA_AGENT_ENDPOINT names another
// socket path or pipe (tests run isolated agents side by side with it).
//
// # One agent
//
// [Listen] makes exactly one agent per endpoint: on Unix it takes an
// exclusive lock (flock) on agent.lock beside the socket before it replaces
// a stale socket, and on Windows creating the pipe's first instance is the
// lock. A second agent gets [ErrRunning].
//
// # Same user, both ways
//
// The listener refuses a client whose peer credentials (SO_PEERCRED,
// getpeereid, the pipe client's token) name another user; [Dial] refuses a
// server that is another user's, so a socket or pipe squatted by another
// user is never talked to. [Peer] carries what the operating system says
// about the other end — never what the other end says about itself.
package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// EnvAddress names the environment variable that overrides the endpoint.
const EnvAddress = "OIA_AGENT_ENDPOINT"

// Peer is what the operating system reports about the other end of a
// connection.
type Peer struct {
	// UID is the peer's user id on Unix; -1 where there is none.
	UID int
	// SID is the peer's user SID on Windows; empty elsewhere.
	SID string
	// PID is the peer's process id; 0 when the OS does not say.
	PID int
	// Exe is the peer process's executable path; empty when unknown.
	Exe string
}

// ErrRunning is returned by [Listen] when another agent already owns the
// endpoint.
var ErrRunning = errors.New("endpoint: another agent is already running for this user")

// ErrNoAgent is returned by [Dial] when nothing listens on the endpoint.
var ErrNoAgent = errors.New("endpoint: no agent is running")

// NotSameUserError reports an endpoint, or a peer, that belongs to another
// user than the caller.
type NotSameUserError struct {
	What string // "the agent directory /run/user/1000/oia", "the peer"
	Got  string // the other owner, as the OS names it
}

func (e *NotSameUserError) Error() string {
	return fmt.Sprintf("endpoint: %s belongs to %s, not to this user: refusing it (remove it, or ask IT)", e.What, e.Got)
}

// Address returns the endpoint's address for this user and session:
// $OIA_AGENT_ENDPOINT when set, else the per-OS default.
func Address() (string, error) {
	if a := os.Getenv(EnvAddress); a != "" {
		return a, nil
	}
	return defaultAddress()
}

// Listener accepts connections from the same user only.
type Listener struct {
	ln      net.Listener
	addr    string
	release func() error // the lock, and the socket file
	refused func(Peer, error)
	check   func() bool
	same    func(Peer) bool // the peer check; a test replaces it
}

// Listen takes the endpoint at addr (see [Address]) for this process: it
// returns [ErrRunning] when another agent holds it, and replaces what a
// crashed agent left behind. refused, when not nil, hears of every
// connection refused by the peer check.
func Listen(addr string, refused func(Peer, error)) (*Listener, error) {
	ln, release, check, err := listen(addr)
	if err != nil {
		return nil, err
	}
	return &Listener{ln: ln, addr: addr, release: release, refused: refused, check: check, same: sameUser}, nil
}

// Accept waits for the next connection from the same user and returns it
// with what the OS says about its peer. Connections from other users are
// closed and reported to the refused callback.
func (l *Listener) Accept() (net.Conn, Peer, error) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return nil, Peer{}, err
		}
		p, err := peerOf(c)
		if err == nil && !l.same(p) {
			err = &NotSameUserError{What: "the peer", Got: p.owner()}
		}
		if err != nil {
			_ = c.Close()
			if l.refused != nil {
				l.refused(p, err)
			}
			continue
		}
		return c, p, nil
	}
}

// Addr returns the address the listener holds.
func (l *Listener) Addr() string { return l.addr }

// Held reports whether the endpoint is still this listener's: false once
// the socket file was removed or replaced (the user's session ended, or an
// administrator cleaned up).
func (l *Listener) Held() bool { return l.check() }

// Close stops listening and gives the endpoint up.
func (l *Listener) Close() error {
	err := l.ln.Close()
	if e := l.release(); err == nil {
		err = e
	}
	return err
}

// Dial connects to the agent at addr and checks that it runs as this user.
// It returns [ErrNoAgent] (wrapped) when nothing listens there.
func Dial(ctx context.Context, addr string) (net.Conn, Peer, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, Peer{}, err
	}
	p, err := serverOf(c)
	if err == nil && !sameUser(p) {
		err = &NotSameUserError{What: "the agent at " + addr, Got: p.owner()}
	}
	if err != nil {
		_ = c.Close()
		return nil, p, err
	}
	return c, p, nil
}

// DialOrStart dials the agent at addr; when none runs it calls start once
// and dials again with a short backoff until ctx ends. Ten clients that
// start together may each call start: the agents' own lock ([Listen])
// leaves exactly one running.
func DialOrStart(ctx context.Context, addr string, start func() error) (net.Conn, Peer, error) {
	c, p, err := Dial(ctx, addr)
	if !errors.Is(err, ErrNoAgent) || start == nil {
		return c, p, err
	}
	if err := start(); err != nil {
		return nil, Peer{}, fmt.Errorf("endpoint: cannot start the agent: %w", err)
	}
	wait := 5 * time.Millisecond
	for {
		c, p, err = Dial(ctx, addr)
		if !errors.Is(err, ErrNoAgent) {
			return c, p, err
		}
		select {
		case <-ctx.Done():
			return nil, Peer{}, fmt.Errorf("%w (it did not start in time)", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func (p Peer) owner() string {
	if p.SID != "" {
		return p.SID
	}
	return fmt.Sprintf("uid %d", p.UID)
}
