// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package relay

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// TestHandshake: the relay attaches and hands the agent's first frame on;
// an agent that accepted the connection but never answers is reported as
// ErrNoAnswer within the wait, so that the relay dials again, and one that
// hangs up is not (dialling again would not help).
func TestHandshake(t *testing.T) {
	const wait = 200 * time.Millisecond
	hello := []byte(`{"type":"hello","protocol":"1.0"}`)
	tests := []struct {
		name string
		// agent plays the agent's side once the attach frame is read.
		agent   func(c net.Conn)
		want    []byte
		wantErr error // nil, ErrNoAnswer, or any error (io.ErrUnexpectedEOF stands for it)
	}{
		{"the agent says hello: its frame is returned", func(c net.Conn) {
			f, _ := nativemsg.Frame(hello)
			_, _ = c.Write(f)
		}, hello, nil},
		{"the agent never answers (an unserved Windows pipe instance): no answer", func(c net.Conn) {}, nil, ErrNoAnswer},
		{"the agent hangs up: an error, not no answer", func(c net.Conn) { _ = c.Close() }, nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relaySide, agentSide := net.Pipe()
			defer relaySide.Close()
			defer agentSide.Close()
			attached := make(chan protocol.Attach, 1)
			go func() {
				body, err := nativemsg.NewReader(agentSide, nativemsg.MaxInbound).Read()
				var a protocol.Attach
				if err == nil && json.Unmarshal(body, &a) == nil {
					attached <- a
				}
				close(attached)
				tt.agent(agentSide)
			}()
			start := time.Now()
			got, err := Handshake(relaySide, "jojkkadnmnpkbklmagcdhigmbdlcaoha", wait)
			if a := <-attached; a.Client != protocol.ClientRelay || a.Browser != "jojkkadnmnpkbklmagcdhigmbdlcaoha" {
				t.Errorf("attach frame %+v, want the relay's for the caller", a)
			}
			switch {
			case tt.wantErr == nil && (err != nil || string(got) != string(tt.want)):
				t.Errorf("Handshake = %q, %v; want %q", got, err, tt.want)
			case tt.wantErr == ErrNoAnswer && !errors.Is(err, ErrNoAnswer):
				t.Errorf("Handshake error %v, want ErrNoAnswer", err)
			case tt.wantErr != nil && tt.wantErr != ErrNoAnswer && (err == nil || errors.Is(err, ErrNoAnswer)):
				t.Errorf("Handshake error %v, want an error other than ErrNoAnswer", err)
			}
			if d := time.Since(start); d > wait+time.Second {
				t.Errorf("Handshake took %v, longer than its wait %v", d, wait)
			}
		})
	}
}
