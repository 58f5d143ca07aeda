// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/host/login"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
)

// FuzzServe feeds an arbitrary input stream to the host's server loop and
// login machine (no card, no broker), as oia-host runs them: whatever the
// bytes, the server stops at the end of the input without panicking, and
// everything it wrote is whole frames of JSON objects with a type.
func FuzzServe(f *testing.F) {
	seed := func(frames ...string) []byte {
		var b []byte
		for _, s := range frames {
			b = append(b, frameOf([]byte(s))...)
		}
		return b
	}
	f.Add(seed(`{"id":"1","type":"status"}`))
	f.Add(seed(`{"id":"1","type":"hello","protocol":"1.0","settings":{"promptOnCardInsert":false,"pinTimeoutSeconds":60}}`, `{"id":"2","type":"getTicket","origin":"https://spine.nhs.uk"}`))
	f.Add(seed(`{"id":"1","type":"pin","pin":"123456"}`, `{"id":"2","type":"cancel"}`, `{"id":"3","type":"selectRole","roleId":"1"}`))
	f.Add(seed(`{"id":"1","type":"destroyTicket"}`, `{"id":"2","type":"login","origin":"chrome-extension://jojkkadnmnpkbklmagcdhigmbdlcaoha"}`))
	f.Add(seed(`[]`, `null`, `{"id":1}`, ``, "\xff"))
	f.Add(append(seed(`{"id":"1","type":"status"}`), 0xff, 0xff, 0xff, 0x7f, '{'))
	f.Fuzz(func(t *testing.T, stream []byte) {
		var out bytes.Buffer
		w := nativemsg.NewWriter(&out, 64)
		log := logrus.New()
		log.SetOutput(io.Discard)
		m := login.New(login.Deps{Notify: func(ev protocol.Event) { _ = w.Send(ev) }}, login.Settings{Version: "fuzz"})
		_ = w.Send(protocol.Hello{HelloBody: m.HelloBody()})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		ready := make(chan struct{})
		close(ready)
		err := server.Serve(bytes.NewReader(stream), w, ready, m, log)
		cancel()
		<-done
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Serve: %v", err)
		}
		r := nativemsg.NewReader(&out, nativemsg.MaxOutbound)
		for n := 0; ; n++ {
			body, err := r.Read()
			if err == io.EOF {
				if n == 0 {
					t.Fatal("no hello")
				}
				return
			}
			if err != nil {
				t.Fatalf("frame %d: %v", n, err)
			}
			var fr protocol.Frame
			if err := json.Unmarshal(body, &fr); err != nil || fr.Type == "" {
				t.Fatalf("frame %d is not a message: %q", n, body)
			}
			if n == 0 && fr.Type != "hello" {
				t.Fatalf("the first frame is %q", fr.Type)
			}
		}
	})
}
