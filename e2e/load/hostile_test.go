// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// frameOf puts a length header on body, whatever body is.
func frameOf(body []byte) []byte {
	return append(binary.NativeEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// isAnswer matches what a hostile frame gets: a result or an error event.
func isAnswer(f protocol.Frame) bool {
	return f.Type == "result" || (f.Type == "event" && f.Event == protocol.EvError)
}

// TestHostile_Stream sends a logged-in host frames a broken or malicious
// extension could send. Each gets one answer with a stable code, the
// session survives, the host never writes an unframed byte (checked by
// startHost) and it still answers status and releases the ticket.
func TestHostile_Stream(t *testing.T) {
	rig := newRig(t)
	h, login := loggedIn(t, rig)
	h.Drop()

	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name  string
		frame []byte
		want  protocol.Code
	}{
		// A frame over the 64 KiB inbound bound: read past, never held.
		{"1 MiB frame", frameOf(bytes.Repeat([]byte{'{'}, 1<<20)), protocol.CodeFrameTooLarge},
		// A frame just over the bound.
		{"64 KiB + 1 frame", frameOf(bytes.Repeat([]byte{' '}, nativemsg.MaxInbound+1)), protocol.CodeFrameTooLarge},
		// A zero-length frame.
		{"empty frame", frameOf(nil), protocol.CodeBadRequest},
		// Not UTF-8.
		{"invalid UTF-8", frameOf([]byte("{\"id\":\"1\",\"type\":\"\xff\xfe\"}")), protocol.CodeBadRequest},
		// JSON nested past any sane depth, inside the size bound.
		{"deeply nested array", frameOf([]byte(deep)), protocol.CodeBadRequest},
		{"deeply nested field", frameOf([]byte(`{"id":"d","type":"status","x":` + deep + `}`)), protocol.CodeBadRequest},
		// An id far over 64 characters.
		{"huge id", frameOf([]byte(`{"id":"` + strings.Repeat("9", 60000) + `","type":"status"}`)), protocol.CodeBadRequest},
		// A number where a string belongs, and the other way round.
		{"numeric id", frameOf([]byte(`{"id":1,"type":"status"}`)), protocol.CodeBadRequest},
		{"numeric type", frameOf([]byte(`{"id":"t","type":5}`)), protocol.CodeBadRequest},
		{"origin as a list", frameOf([]byte(`{"id":"o","type":"getTicketNoAuth","origin":["https://spine.nhs.uk"]}`)), protocol.CodeBadRequest},
		{"pin as a number", frameOf([]byte(`{"id":"p","type":"pin","pin":123456}`)), protocol.CodeBadRequest},
		// A huge origin.
		{"huge origin", frameOf([]byte(`{"id":"g","type":"getTicketNoAuth","origin":"https://` + strings.Repeat("a", 5000) + `.nhs.uk"}`)), protocol.CodeBadRequest},
		// Not an object.
		{"array", frameOf([]byte(`[{"id":"a","type":"status"}]`)), protocol.CodeBadRequest},
		{"null", frameOf([]byte(`null`)), protocol.CodeBadRequest},
		// Two objects in one frame.
		{"two objects", frameOf([]byte(`{"id":"x","type":"status"}{"id":"y","type":"status"}`)), protocol.CodeBadRequest},
		// A NUL inside a string, and a field the protocol does not have.
		{"unknown field", frameOf([]byte(`{"id":"u","type":"status","ticket":"\u0000"}`)), protocol.CodeBadRequest},
		// A type that does not exist.
		{"unknown type", frameOf([]byte(`{"id":"n","type":"exportKey"}`)), protocol.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.SendRaw(tt.frame); err != nil {
				t.Fatal(err)
			}
			f, err := h.Next(ctxFor(t), "an answer", isAnswer)
			if err != nil {
				t.Fatal(err)
			}
			if code(f) != tt.want {
				t.Errorf("answer %s/%s %+v, want %s", f.Type, f.ID, f.Error, tt.want)
			}
			if f.Ticket != "" {
				t.Error("a hostile frame got the ticket")
			}
			stillServing(t, h, login.Ticket)
		})
	}

	t.Run("random frames", func(t *testing.T) {
		// Random bodies inside valid length headers: the length of a
		// frame is trusted by the protocol (a random header could ask the
		// host to wait for 4 GiB), its content is not.
		rng := rand.New(rand.NewPCG(9, 9))
		const n = 300
		var stream []byte
		for range n {
			body := make([]byte, 1+rng.IntN(2048))
			for i := range body {
				body[i] = byte(rng.UintN(256))
			}
			stream = append(stream, frameOf(body)...)
		}
		if err := h.SendRaw(stream); err != nil {
			t.Fatal(err)
		}
		expectErrors(t, h, n, protocol.CodeBadRequest)
		stillServing(t, h, login.Ticket)
	})

	t.Run("flood of tiny frames", func(t *testing.T) {
		// Many one-byte frames at once: each answered, none lost.
		const n = 5000
		stream := bytes.Repeat(frameOf([]byte("1")), n)
		if err := h.SendRaw(stream); err != nil {
			t.Fatal(err)
		}
		expectErrors(t, h, n, protocol.CodeBadRequest)
		stillServing(t, h, login.Ticket)
	})

	t.Run("cut mid-frame", func(t *testing.T) {
		// The browser dies half way through a frame: the host exits
		// cleanly, as for a closed port.
		if err := h.SendRaw(append(binary.NativeEndian.AppendUint32(nil, 100), `{"id":"c"`...)); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(5 * time.Second); err != nil {
			t.Fatalf("exit after a cut frame: %v", err)
		}
	})
}

// expectErrors reads n answers, each with code want.
func expectErrors(t *testing.T, h *Host, n int, want protocol.Code) {
	t.Helper()
	for i := range n {
		f, err := h.Next(ctxFor(t), "an answer", isAnswer)
		if err != nil {
			t.Fatalf("after %d answers: %v", i, err)
		}
		if code(f) != want {
			t.Fatalf("answer %d: %+v, want %s", i, f.Error, want)
		}
	}
}

// stillServing checks the host answers status and still holds the session.
func stillServing(t *testing.T, h *Host, ticket string) {
	t.Helper()
	r, err := h.Call(ctxFor(t), map[string]any{"type": "status"})
	if err != nil || !r.OK || r.State != protocol.StateLoggedIn {
		t.Fatalf("status after hostile input: %+v %v", r, err)
	}
	r, err = h.Call(ctxFor(t), map[string]any{"type": "getTicketNoAuth", "origin": RigOrigin})
	if err != nil || r.Ticket != ticket {
		t.Fatalf("the session did not survive: %+v %v", r.Error, err)
	}
}
