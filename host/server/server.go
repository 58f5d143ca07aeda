// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package server connects the native-messaging stream to the login machine:
// it reads frames, decodes requests, hands them to the machine, and writes
// every result through one writer. The caller queues the host's hello on
// that writer first, before the machine starts and can send events
// (docs/protocol.md §3.2: hello is the first frame).
//
// A frame it cannot read (too large, not JSON) or a request it cannot decode
// gets an error with a stable code (by id when the id could be read, else an
// error event) and the server keeps reading. Only the end of the input stops
// it.
package server

import (
	"errors"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// Handler is what serves the requests: the login machine.
type Handler interface {
	// Handle answers req by calling reply exactly once.
	Handle(req protocol.Request, reply func(protocol.Result))
}

// Sender sends a message to the extension: a *nativemsg.Writer.
type Sender interface {
	Send(v any) error
}

// FrameErrorEvent is the error event that answers a frame that could not
// be read: FRAME_TOO_LARGE for one over the bound, else BAD_REQUEST.
func FrameErrorEvent(fe *nativemsg.FrameError) protocol.Event {
	code := protocol.CodeBadRequest
	if fe.Kind == nativemsg.ErrTooLarge {
		code = protocol.CodeFrameTooLarge
	}
	return protocol.ErrorEventOf(protocol.Errorf(code, "%s", fe.Error()))
}

// Serve waits for ready (when not nil: the host's first look at the card
// readers), then reads requests from in until it ends, passing each to h
// and sending the results with out. It returns nil at the end of the input
// (the browser closed the port) and the read error otherwise.
func Serve(in io.Reader, out Sender, ready <-chan struct{}, h Handler, log logrus.FieldLogger) error {
	return ServeWith(in, out, ready, h, log, protocol.DecodeRequest)
}

// Decoder parses a request frame: [protocol.DecodeRequest] for a browser,
// [protocol.DecodeClientRequest] for the agent's other clients.
type Decoder func([]byte) (protocol.Request, string, error)

// TrySender is a [Sender] that can also send without blocking: the agent's
// writer to one client. ServeWith sends the answers that come from the
// login machine with SendNow, so that a client that stops reading cannot
// stall the machine, and its own answers to unreadable frames with Send.
// Before it reads each frame it calls WaitRoom, so that a client that sends
// faster than it reads its answers waits for them (backpressure) instead of
// overflowing its queue.
type TrySender interface {
	Sender
	SendNow(v any) error
	WaitRoom()
}

// ServeWith is Serve with the decoder of the client's kind.
func ServeWith(in io.Reader, out Sender, ready <-chan struct{}, h Handler, log logrus.FieldLogger, decode Decoder) error {
	sendWith := func(put func(any) error, v any) {
		err := put(v)
		if errors.Is(err, nativemsg.ErrOutboundTooLarge) {
			if r, ok := v.(protocol.Result); ok {
				err = put(protocol.Fail(r.ID, protocol.Errorf(protocol.CodeInternal, "the answer was over the browsers' 1 MiB limit")))
			}
		}
		if err != nil {
			log.WithError(err).Warn("cannot send to the extension")
		}
	}
	send := func(v any) { sendWith(out.Send, v) }
	answer, waitRoom := send, func() {}
	if ts, ok := out.(TrySender); ok {
		answer, waitRoom = func(v any) { sendWith(ts.SendNow, v) }, ts.WaitRoom
	}
	if ready != nil {
		<-ready
	}

	r := nativemsg.NewReader(in, nativemsg.MaxInbound)
	for {
		waitRoom()
		body, err := r.Read()
		if err == io.EOF {
			return nil
		}
		var fe *nativemsg.FrameError
		if errors.As(err, &fe) {
			log.WithField("size", fe.Size).WithError(err).Warn("unreadable frame")
			send(FrameErrorEvent(fe))
			continue
		}
		if err != nil {
			return err
		}
		req, id, err := decode(body)
		if err != nil {
			log.WithError(err).WithField("id", id).Warn("bad request")
			if id != "" {
				send(protocol.Fail(id, err))
			} else {
				send(protocol.ErrorEventOf(err))
			}
			continue
		}
		log.WithField("request", req.String()).Debug("request")
		h.Handle(req, func(res protocol.Result) { answer(res) })
	}
}
