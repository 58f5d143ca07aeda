// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/vcard"
)

// oia runs the command in-process and returns its exit code and output.
func oia(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	t.Setenv(vcard.EnvDir, "")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string // in stderr
	}{
		// No command: usage, exit 2.
		{"no command", nil, 2, "usage:"},
		{"help", []string{"--help"}, 0, "usage:"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		// No directory anywhere: say how to give one.
		{"no dir", []string{"status"}, 2, "OIA_VCARD_DIR"},
		{"init without pin", []string{"init", "--dir", dir}, 2, "--pin"},
		{"unknown flag", []string{"status", "--dir", dir, "--nope"}, 2, "not defined"},
		{"stray argument", []string{"insert", "--dir", dir, "now"}, 2, "unexpected argument"},
		// pinpad takes a passcode or --cancel, not both, not neither.
		{"pinpad both", []string{"pinpad", "--dir", dir, "--cancel", "123456"}, 2, "passcode or --cancel"},
		{"pinpad neither", []string{"pinpad", "--dir", dir}, 2, "passcode or --cancel"},
		{"fault one arg", []string{"fault", "--dir", dir, "C_Sign"}, 2, "FUNCTION ACTION"},
		// No card in the directory yet: say how to make one.
		{"no card", []string{"status", "--dir", dir}, 1, "oia-vcard init"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := oia(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.msg)
			}
		})
	}
}

func TestCardLifecycle(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(vcard.EnvDir, dir)
	code, out, stderr := oia("init", "--pin", "24681357", "--uid", "555000123456", "--name", "Dr Who", "--pinpad", "--pinpad-timeout", "5s")
	if code != 0 || !strings.Contains(out, "passcode: 24681357") || !strings.Contains(out, "555000123456") || !strings.Contains(out, vcard.EnvDir+"="+dir) {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	status := func() vcard.Status {
		t.Helper()
		code, out, stderr := oia("status", "--json")
		var st vcard.Status
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("status --json: exit %d\n%s%s", code, out, stderr)
		}
		return st
	}
	if st := status(); !st.Present || !st.PINPad || st.PINPadTimeoutMS != 5000 || st.Name != "Dr Who" {
		t.Fatalf("status after init = %+v", st)
	}
	// Each step: a command line and what status must show after it.
	for _, step := range []struct {
		args  []string
		check func(vcard.Status) bool
	}{
		{[]string{"remove"}, func(s vcard.Status) bool { return !s.Present }},
		{[]string{"insert"}, func(s vcard.Status) bool { return s.Present }},
		{[]string{"lock"}, func(s vcard.Status) bool { return s.Locked && s.AttemptsLeft == 0 }},
		{[]string{"unlock"}, func(s vcard.Status) bool { return !s.Locked && s.AttemptsLeft == 3 }},
		{[]string{"fault", "C_Sign", "CKR_DEVICE_ERROR", "--once"}, func(s vcard.Status) bool {
			return s.Fault != nil && s.Fault.Function == "C_Sign" && s.Fault.RV == 0x30 && s.Fault.Once
		}},
		{[]string{"fault", "C_Login", "remove"}, func(s vcard.Status) bool { return s.Fault != nil && s.Fault.Remove && !s.Fault.Once }},
		{[]string{"fault", "--clear"}, func(s vcard.Status) bool { return s.Fault == nil }},
		{[]string{"swap", "--uid", "555000654321"}, func(s vcard.Status) bool { return s.UID == "555000654321" && s.Generation == 4 }},
	} {
		code, out, stderr := oia(step.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", step.args, code, out, stderr)
		}
		if st := status(); !step.check(st) {
			t.Fatalf("%v: status = %+v", step.args, st)
		}
	}
	code, out, _ = oia("status")
	if code != 0 || !strings.Contains(out, "555000654321") || strings.Contains(out, "24681357") {
		t.Fatalf("status: exit %d\n%s(must show the user, never the passcode)", code, out)
	}
	// With no login waiting, a PIN pad entry times out with a hint; flags
	// after the passcode work too.
	code, _, stderr = oia("pinpad", "24681357", "--wait", "20ms")
	if code != 1 || !strings.Contains(stderr, "no pin pad login is waiting") {
		t.Fatalf("pinpad with no login: exit %d, %q", code, stderr)
	}
	code, _, stderr = oia("fault", "C_Sign", "CKR_WHATEVER")
	if code != 2 || !strings.Contains(stderr, "CKR_DEVICE_ERROR") {
		t.Fatalf("bad fault: exit %d, %q", code, stderr)
	}
}

func TestBuildModule(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the module")
	}
	dir := t.TempDir()
	code, out, stderr := oia("build-module", "--out", dir)
	if code != 0 || strings.TrimSpace(out) != dir+"/"+vcard.LibName {
		t.Fatalf("build-module: exit %d\n%s%s", code, out, stderr)
	}
}
