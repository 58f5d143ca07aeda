// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/openidentityagent/oia/host/logging"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// recordSender keeps what the server sends, as JSON, refusing what the
// browser would refuse.
type recordSender struct {
	mu  sync.Mutex
	out []protocol.Frame
}

func (s *recordSender) Send(v any) error {
	b, err := nativemsg.Encode(v)
	if err != nil {
		return err
	}
	var f protocol.Frame
	if err := json.Unmarshal(b[4:], &f); err != nil {
		return err
	}
	s.mu.Lock()
	s.out = append(s.out, f)
	s.mu.Unlock()
	return nil
}

// echo answers status with ok and anything else with a body too large for
// the browser.
type echo struct{}

func (echo) Handle(req protocol.Request, reply func(protocol.Result)) {
	if req.Type == protocol.ReqStatus {
		reply(protocol.OK(req.ID, protocol.StatusBody{State: protocol.StateNoCard}))
		return
	}
	reply(protocol.OK(req.ID, protocol.TicketBody{Ticket: strings.Repeat("x", nativemsg.MaxOutbound)}))
}

func frame(body string) []byte {
	f, _ := nativemsg.Frame([]byte(body))
	return f
}

func TestServe(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(`{"id":"1","type":"status"}`))
	in.Write(frame(`{"oops`))                               // not JSON: an error event
	in.Write(frame(`{"id":"2","type":"status","extra":1}`)) // unknown field: answered by id
	in.Write(frame(`{"type":"status"}`))                    // no id: an error event
	in.Write(frame(`{"id":"3","type":"getTicketNoAuth","origin":"https://a.nhs.uk"}`))
	s := &recordSender{}
	ready := make(chan struct{})
	close(ready)
	if err := Serve(&in, s, ready, echo{}, logging.Discard()); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ, id string
		code    protocol.Code
		why     string
	}{
		{"result", "1", "", "a good request is answered"},
		{"event", "", protocol.CodeBadRequest, "a frame that is not JSON cannot be answered by id"},
		{"result", "2", protocol.CodeBadRequest, "a bad request with an id is answered by id"},
		{"event", "", protocol.CodeBadRequest, "a request without an id"},
		{"result", "3", protocol.CodeInternal, "an answer over the browsers' limit becomes an error, not a closed port"},
	}
	if len(s.out) != len(want) {
		t.Fatalf("sent %d frames, want %d: %+v", len(s.out), len(want), s.out)
	}
	for i, w := range want {
		f := s.out[i]
		var code protocol.Code
		if f.Error != nil {
			code = f.Error.Code
		}
		if f.Type != w.typ || f.ID != w.id || code != w.code {
			t.Errorf("frame %d = {%s %s %s}, want {%s %s %s}: %s", i, f.Type, f.ID, code, w.typ, w.id, w.code, w.why)
		}
	}
}
