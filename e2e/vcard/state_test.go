// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package vcard

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		// What Init and the module write.
		{"normal", "# comment\nversion=1\npresent=1\nname=Dr A. Smith = MD\n", true},
		// Values may be empty (fault_func= when no fault).
		{"empty value", "version=1\nfault_func=\n", true},
		// A file from another format version is not half-understood.
		{"other version", "version=2\n", false},
		{"no version", "present=1\n", false},
		// A torn or foreign file is refused, never guessed at.
		{"no equals", "version=1\npresent\n", false},
		{"bad key", "version=1\nPresent=1\n", false},
		{"empty key", "version=1\n=1\n", false},
		{"long value", "version=1\nname=" + strings.Repeat("x", 256) + "\n", false},
		{"too big", "version=1\n" + strings.Repeat("# padding\n", 2000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseState([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("parseState = %v; want ok %v", err, tc.ok)
			}
		})
	}
}

func TestState_KeepsUnknownKeysAndOrder(t *testing.T) {
	t.Parallel()
	s, err := parseState([]byte("version=1\nfuture_key=keep me\nattempts=2\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.setUint(kAttempts, 3)
	s.set(kLabel, "L")
	got := string(s.encode())
	want := "version=1\nfuture_key=keep me\nattempts=3\nlabel=L\n"
	if !strings.HasSuffix(got, want) {
		t.Fatalf("encode = %q; want it to end with %q", got, want)
	}
	// The module writes numbers as 0x hex; both sides read them.
	s.set(kFaultRV, "0x30")
	if s.uint(kFaultRV) != 0x30 {
		t.Fatalf("uint(0x30) = %d", s.uint(kFaultRV))
	}
}

func TestPrompting(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	self, gone := strconv.Itoa(os.Getpid()), strconv.Itoa(dead.Process.Pid)
	for _, tc := range []struct {
		name, waiting, entrySeq, pid string
		want                         bool
	}{
		// No login has prompted.
		{"none", "0", "0", "0", false},
		// A live login waits for its entry.
		{"waiting", "7", "0", self, true},
		// The entry is delivered; the module has not taken it yet.
		{"delivered", "7", "7", self, false},
		// The host died while it waited: the prompt is stale.
		{"dead host", "7", "0", gone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState()
			s.set(kPINPadWaiting, tc.waiting)
			s.set(kPINPadEntrySeq, tc.entrySeq)
			s.set(kPINPadPID, tc.pid)
			if got := prompting(s); got != tc.want {
				t.Fatalf("prompting = %v; want %v", got, tc.want)
			}
		})
	}
}
