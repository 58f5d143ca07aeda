// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// TestCardStack is issue 14's idle check through the whole host: oia-host
// and its agent with OpenSC, pcscd and the virtual PIV card, the card in
// the reader and nobody logging in for a minute (5 s with -short). The
// card must receive no APDU; a removal while logged in must reach the
// broker as a logout within a second of the card leaving, and within
// 100 ms of pcscd reporting it. The watcher that polled
// C_GetTokenInfo sent 240 APDUs a minute, so this fails if it comes back.
func TestCardStack(t *testing.T) {
	if err := pivcard.Available(); err != nil {
		t.Skip(err)
	}
	bin, err := rig.Binary("oia-host")
	if err != nil {
		t.Fatal(err)
	}
	idle := time.Minute
	if testing.Short() {
		idle = 5 * time.Second
	}
	r, err := load.NewRig(load.RigOptions{Dir: t.TempDir(), ModulePath: vcard.ModulePath(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), idle+2*time.Minute)
	defer cancel()
	rep := &Report{}
	cardStack(ctx, Options{HostBinary: bin, Dir: t.TempDir(), Idle: idle, CardLogins: 1, Removals: 2}, r, rep)
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("\n%s", out.String())
	for _, f := range rep.Figures {
		if f.NA {
			t.Fatalf("%s unavailable: %s", f.Name, f.Note)
		}
	}
	if v, _ := rep.value("idle_apdus_per_min"); v != 0 {
		t.Errorf("the idle card received %.0f APDUs a minute, want 0", v)
	}
	if v, _ := rep.value("removal_to_logout_ms"); v > 1000 {
		t.Errorf("the broker heard the logout %.0f ms after the card left, want within 1 s (pcscd polls vpcd every 400 ms)", v)
	}
	if v, _ := rep.value("removal_seen_to_logout_ms"); v > 100 {
		t.Errorf("the broker heard the logout %.0f ms after pcscd reported the card gone, want within 100 ms", v)
	}
}
