// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package relay is the browser's side of the agent: oia-host, started by
// the browser for its extension, attaches to the per-desktop agent and
// passes frames between the two unread (docs/protocol.md §6). The agent
// makes every decision — the origin check included — so the relay holds no
// session, no card and no ticket of its own, and a browser that closes
// takes only its relay with it.
//
// The relay bounds what it passes: a frame from the browser over the
// inbound limit is answered FRAME_TOO_LARGE and never forwarded, and a
// frame from the agent over the browsers' 1 MiB limit is dropped (the
// agent never makes one). When the agent goes away, the relay tells the
// extension with an AGENT_UNAVAILABLE error event and ends, so that the
// extension's next connection starts a new agent.
package relay

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
)

// Attach writes the relay's attach frame for the browser's caller (the
// extension id from the relay's command line).
func Attach(agent io.Writer, caller string) error {
	frame, err := nativemsg.Encode(protocol.Attach{Type: "attach", Protocol: protocol.Version,
		Client: protocol.ClientRelay, Version: oia.Version, Browser: caller})
	if err != nil {
		return err
	}
	_, err = agent.Write(frame)
	return err
}

// ErrNoAnswer is a connection the agent accepted but never answered on.
var ErrNoAnswer = errors.New("the agent accepted the connection but did not answer the attach")

// Handshake attaches to the agent on conn for caller and reads the agent's
// first frame, its hello or the error event that refuses the relay, within
// wait. It returns that frame's body, for the browser. A connection the
// agent never serves gives ErrNoAnswer, and the caller dials again: the
// first client of a newly created Windows named pipe can be one (go-winio
// issue 173: its first pipe instance is opened for SYNCHRONIZE only; seen
// every time under Wine, docs/installer.md).
func Handshake(conn net.Conn, caller string, wait time.Duration) ([]byte, error) {
	if err := conn.SetDeadline(time.Now().Add(wait)); err != nil {
		return nil, err
	}
	if err := Attach(conn, caller); err != nil {
		return nil, noAnswer(err)
	}
	body, err := nativemsg.NewReader(conn, nativemsg.MaxOutbound).Read()
	if err != nil {
		return nil, noAnswer(err)
	}
	return body, conn.SetDeadline(time.Time{})
}

// noAnswer is ErrNoAnswer for a deadline that passed: os.ErrDeadlineExceeded
// on Unix sockets, go-winio's ErrTimeout on pipes, both net.Error timeouts.
func noAnswer(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrNoAnswer
	}
	return err
}

// Unavailable sends the extension the error event of a relay that cannot
// reach the agent.
func Unavailable(browser io.Writer, message string) error {
	return writeEvent(browser, protocol.ErrorEventOf(protocol.Errorf(protocol.CodeAgentUnavailable, "%s", message)))
}

// writeEvent frames ev and writes it to w.
func writeEvent(w io.Writer, ev protocol.Event) error {
	frame, err := nativemsg.Encode(ev)
	if err != nil {
		return err
	}
	_, err = w.Write(frame)
	return err
}

// Result says how a relay ended.
type Result int

// How a relay ends.
const (
	BrowserClosed Result = iota // the browser closed standard input: the normal end
	AgentGone                   // the agent closed the connection or failed
)

// Run passes frames between the browser (in, out) and the agent (conn)
// until either side ends, and closes conn. It returns which side ended.
func Run(in io.Reader, out io.Writer, conn net.Conn, log logrus.FieldLogger) Result {
	// out is written by both directions, a whole frame at a time.
	var mu sync.Mutex
	put := func(write func(io.Writer) error) error {
		mu.Lock()
		defer mu.Unlock()
		return write(out)
	}
	forward := func(w io.Writer, body []byte) error {
		frame, err := nativemsg.Frame(body)
		if err == nil {
			_, err = w.Write(frame)
		}
		return err
	}
	ended := make(chan Result, 2)
	go func() { // browser → agent
		r := nativemsg.NewReader(in, nativemsg.MaxInbound)
		for {
			body, err := r.Read()
			var fe *nativemsg.FrameError
			if errors.As(err, &fe) {
				log.WithField("size", fe.Size).WithError(err).Warn("unreadable frame from the browser")
				if put(func(w io.Writer) error { return writeEvent(w, server.FrameErrorEvent(fe)) }) != nil {
					ended <- BrowserClosed
					return
				}
				continue
			}
			if err != nil {
				ended <- BrowserClosed
				return
			}
			if forward(conn, body) != nil {
				ended <- AgentGone
				return
			}
		}
	}()
	go func() { // agent → browser
		r := nativemsg.NewReader(conn, nativemsg.MaxOutbound)
		for {
			body, err := r.Read()
			var fe *nativemsg.FrameError
			if errors.As(err, &fe) {
				log.WithError(err).Warn("the agent sent a frame the browser would refuse: dropped")
				continue
			}
			if err != nil {
				ended <- AgentGone
				return
			}
			if put(func(w io.Writer) error { return forward(w, body) }) != nil {
				ended <- BrowserClosed
				return
			}
		}
	}()
	res := <-ended
	_ = conn.Close()
	if res == AgentGone {
		_ = put(func(w io.Writer) error {
			return Unavailable(w, "the agent stopped: the extension reconnects, which starts it again; if it keeps stopping, run 'oia doctor'")
		})
	}
	return res
}
