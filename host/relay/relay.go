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

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
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

// Unavailable sends the extension the error event of a relay that cannot
// reach the agent.
func Unavailable(browser io.Writer, message string) error {
	frame, err := nativemsg.Encode(protocol.Event{Name: protocol.EvError, Body: protocol.ErrorEvent{
		Error: protocol.BodyOf(protocol.Errorf(protocol.CodeAgentUnavailable, "%s", message))}})
	if err != nil {
		return err
	}
	_, err = browser.Write(frame)
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
	var mu sync.Mutex // out is written by both directions
	write := func(body []byte) error {
		frame, err := nativemsg.Frame(body)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		_, err = out.Write(frame)
		return err
	}
	ended := make(chan Result, 2)
	go func() { // browser → agent
		r := nativemsg.NewReader(in, nativemsg.MaxInbound)
		for {
			body, err := r.Read()
			var fe *nativemsg.FrameError
			if errors.As(err, &fe) {
				code := protocol.CodeBadRequest
				if fe.Kind == nativemsg.ErrTooLarge {
					code = protocol.CodeFrameTooLarge
				}
				log.WithField("size", fe.Size).WithError(err).Warn("unreadable frame from the browser")
				ev, _ := nativemsg.Encode(protocol.Event{Name: protocol.EvError, Body: protocol.ErrorEvent{Error: protocol.BodyOf(protocol.Errorf(code, "%s", fe.Error()))}})
				if write(ev[4:]) != nil {
					ended <- BrowserClosed
					return
				}
				continue
			}
			if err != nil {
				ended <- BrowserClosed
				return
			}
			frame, _ := nativemsg.Frame(body)
			if _, err := conn.Write(frame); err != nil {
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
			if write(body) != nil {
				ended <- BrowserClosed
				return
			}
		}
	}()
	res := <-ended
	_ = conn.Close()
	if res == AgentGone {
		mu.Lock()
		_ = Unavailable(out, "the agent stopped: the extension reconnects, which starts it again; if it keeps stopping, run 'oia doctor'")
		mu.Unlock()
	}
	return res
}
