// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pkg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSignExe signs a small Windows executable (compiled from C with
// mingw-w64, which is fast) with throw-away keys made by
// installer/scripts/throwaway-keys.sh, verifies it against the throw-away
// CA, and checks that a signature does not verify against another CA.
func TestSignExe(t *testing.T) {
	for _, tool := range []string{"osslsigncode", "x86_64-w64-mingw32-gcc", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("no " + tool)
		}
	}
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if b, err := exec.Command(filepath.Join(repoRoot(t), "installer", "scripts", "throwaway-keys.sh"), keys).CombinedOutput(); err != nil {
		t.Fatalf("throwaway-keys.sh: %v\n%s", err, b)
	}
	src := filepath.Join(dir, "hello.c")
	os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644)
	exe := filepath.Join(dir, "hello.exe")
	if b, err := exec.Command("x86_64-w64-mingw32-gcc", "-o", exe, src).CombinedOutput(); err != nil {
		t.Fatalf("mingw: %v\n%s", err, b)
	}
	ctx := context.Background()
	o := SignOptions{Cert: filepath.Join(keys, "win-sign.pem"), Key: filepath.Join(keys, "win-sign.key"), Time: time.Unix(1700000000, 0)}
	signed := filepath.Join(dir, "signed.exe")
	if err := SignExe(ctx, o, exe, signed); err != nil {
		t.Fatal(err)
	}
	if err := VerifyExe(ctx, signed, filepath.Join(keys, "win-ca.pem")); err != nil {
		t.Fatal(err)
	}
	// Reproducible: the same input, key and time give the same bytes.
	again := filepath.Join(dir, "again.exe")
	if err := SignExe(ctx, o, exe, again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(signed)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("signing twice gave different bytes")
	}
	// An unsigned file and a foreign CA fail.
	if err := VerifyExe(ctx, exe, filepath.Join(keys, "win-ca.pem")); err == nil {
		t.Error("an unsigned executable verified")
	}
	other := filepath.Join(dir, "other")
	exec.Command(filepath.Join(repoRoot(t), "installer", "scripts", "throwaway-keys.sh"), other).Run()
	if err := VerifyExe(ctx, signed, filepath.Join(other, "win-ca.pem")); err == nil || !strings.Contains(err.Error(), "verify") {
		t.Errorf("verified against a foreign CA: %v", err)
	}
}
