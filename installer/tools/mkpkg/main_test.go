// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReleaseIDs: a package carries the published ids, never the
// development one.
func TestReleaseIDs(t *testing.T) {
	const chrome, firefox = "abcdefghijklmnopabcdefghijklmnop", "identity-agent@openidentityagent.org"
	tests := []struct {
		name, list string
		wantErr    bool
	}{
		{"the published Chrome and Firefox ids", chrome + "," + firefox, false},
		{"no ids would make a host that no extension can start", "", true},
		{"the development id can be claimed by any unpacked extension", "jojkkadnmnpkbklmagcdhigmbdlcaoha," + firefox, true},
		{"a malformed id would make a manifest browsers reject", "not an id", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := releaseIDs(tt.list)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestReleaseBuild builds oia-host the way make package does (the flags
// are read from the Makefile, so a renamed variable fails here rather than
// silently making a development build) and checks that it trusts only the
// ids it was built with and ignores OIA_SYSTEM_CONFIG. About 5 s.
func TestReleaseBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds oia-host; skipped with -short")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make to read the release flags from")
	}
	const id = "abcdefghijklmnopabcdefghijklmnop"
	out, err := exec.Command("make", "-C", root, "--no-print-directory", "-s", "-n", "release-bin", "EXTENSION_IDS="+id).CombinedOutput()
	if err != nil {
		t.Fatalf("make -n release-bin: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`-ldflags "([^"]+)"`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no -ldflags in make release-bin:\n%s", out)
	}
	bin := filepath.Join(t.TempDir(), "oia-host")
	build := exec.Command("go", "build", "-ldflags", string(m[1]), "-o", bin, "./host/cmd/oia-host")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	planted := filepath.Join(t.TempDir(), "system.json")
	if err := os.WriteFile(planted, []byte(`{"allowedExtensions":["jojkkadnmnpkbklmagcdhigmbdlcaoha"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--print-config")
	cmd.Env = append(os.Environ(), "OIA_SYSTEM_CONFIG="+planted, "OIA_CONFIG="+filepath.Join(t.TempDir(), "none.json"))
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("--print-config: %v\n%s", err, got)
	}
	if strings.Contains(string(got), planted) || strings.Contains(string(got), "jojkkadnmnpkbklmagcdhigmbdlcaoha") {
		t.Errorf("a release build followed OIA_SYSTEM_CONFIG or trusts the development id:\n%s", got)
	}
	if !regexp.MustCompile(`allowedExtensions +\["` + id + `"\]`).Match(got) {
		t.Errorf("a release build does not trust the id it was built with:\n%s", got)
	}
}

// TestEdgeID: an Edge Add-ons id the host manifests would not list is
// refused before anything is built (the MSI's Policy feature would install
// an extension the host refuses).
func TestEdgeID(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"-extension-ids", "abcdefghijklmnopabcdefghijklmnop,identity-agent@openidentityagent.org",
		"-edge-id", "ponmlkjihgfedcbaponmlkjihgfedcba", "-out", t.TempDir()}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "-edge-id: the Edge id ponmlkjihgfedcbaponmlkjihgfedcba is not among the Chrome ids") {
		t.Errorf("exit %d, stderr %q; want 2 and the Edge id refused", code, stderr.String())
	}
}
