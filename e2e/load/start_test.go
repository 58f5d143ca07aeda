// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/protocol"
)

// TestStart_HelloFirst starts the host many times with a card in the
// reader: its first frame is always hello (docs/protocol.md §3.2), never
// an event about the card it found while starting.
func TestStart_HelloFirst(t *testing.T) {
	rig := newRig(t)
	cfg := rig.Config()
	cfg["promptOnCardInsert"] = true // the most events at start
	for i := range 30 {
		h, err := Start(Options{Binary: hostBin(t), Dir: t.TempDir(), Config: cfg, Env: rig.Env()})
		if err != nil {
			t.Fatal(err)
		}
		f, err := h.Next(ctxFor(t), "the first frame", func(protocol.Frame) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		_ = h.Close(5 * time.Second)
		if f.Type != "hello" {
			t.Fatalf("start %d: the first frame is %s/%s, not hello", i, f.Type, f.Event)
		}
	}
}
