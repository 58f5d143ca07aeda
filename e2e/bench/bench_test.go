// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package bench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// TestRun_Small runs every measurement but the card stack's (TestCardStack)
// with tiny counts: make bench's driver works and prints each figure, with
// a value or a reason.
func TestRun_Small(t *testing.T) {
	bin, err := rig.Binary("oia-host")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(vcard.EnvDir, "") // Run sets it for the card it makes
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inproc := filepath.Join(t.TempDir(), "inproc")
	if out, err := exec.Command("go", "build", "-o", inproc, "github.com/openidentityagent/oia/e2e/bench/internal/inproc").CombinedOutput(); err != nil {
		t.Fatalf("build the in-process reference: %v: %s", err, out)
	}
	rep, err := Run(ctx, Options{HostBinary: bin, ModulePath: vcard.ModulePath(t), Dir: t.TempDir(),
		Logins: 2, ColdStarts: 2, Roundtrips: 20, Cycles: 3, InProcessBinary: inproc,
		Only: []string{"login", "cold", "roundtrip", "memory", "page"}}) // the card stack: TestCardStack
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, name := range []string{"login_overhead_ratio=", "login_overhead_ms=", "cold_start_ms=", "cold_start_ratio=",
		"roundtrip_us=", "roundtrip_p99_us=", "msgs_per_s=", "roundtrip_inprocess_us=", "roundtrip_relay_ratio=", "rss_mib_1=", "rss_mib_3=", "rss_growth_pct=", "page_to_ticket_ms="} {
		if !strings.Contains(out.String(), "\n"+name) && !strings.HasPrefix(out.String(), name) {
			t.Errorf("no %s line in:\n%s", name, out.String())
		}
	}
	for _, f := range rep.Figures {
		if !f.NA && f.Value <= 0 && f.Name != "rss_growth_pct" && f.Name != "login_overhead_ms" {
			t.Errorf("%s = %v: a measured figure must be positive", f.Name, f.Value)
		}
	}
}

// TestPercentile: nearest-rank percentiles, the figures' arithmetic.
func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    int
		want time.Duration
	}{
		{"empty: no value rather than a panic", nil, 50, 0},
		{"one value is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"odd count: the middle, whatever the order", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"even count: the lower middle (nearest rank)", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100 values is the 99th", ms(seq(100)...), 99, 99 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("%s: percentile = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}
