// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/rig"
)

// StartTest starts a stack for a test, with the relay command built (or
// found in OIA_BIN) by e2e/rig. It skips the test, with the reason, when the
// stack cannot run on this machine ([ErrUnavailable]), and stops the stack
// at the test's end, printing pcscd's log if the test failed.
func StartTest(tb testing.TB) *Stack {
	tb.Helper()
	relay, err := rig.Binary("oia-pivcard")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, relay)
	if errors.Is(err, ErrUnavailable) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("pcscd log:\n%s", s.Log())
		}
		s.Close()
	})
	return s
}
