// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pkg

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func extDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"manifest.json":        `{"manifest_version":3,"name":"t","version":"0.1.0"}`,
		"background/worker.js": "self.x = 1;\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCRX3_RoundTrip signs a CRX3, parses it back, verifies the signature,
// and checks that the id is the key's and the zip is intact.
func TestCRX3_RoundTrip(t *testing.T) {
	key := testKey(t)
	z, err := ZipDir(extDir(t), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	crx, id, err := CRX3(z, key)
	if err != nil {
		t.Fatal(err)
	}
	gotID, gotZip, err := VerifyCRX3(crx)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if gotID != id || id != ExtensionID(spki) {
		t.Fatalf("ids: signed %s, parsed %s, key %s", id, gotID, ExtensionID(spki))
	}
	if !bytes.Equal(gotZip, z) {
		t.Fatal("zip changed")
	}
	zr, err := zip.NewReader(bytes.NewReader(gotZip), int64(len(gotZip)))
	if err != nil || len(zr.File) != 2 || zr.File[0].Name != "background/worker.js" {
		t.Fatalf("zip: %v %v", err, zr)
	}

	// Any change to the archive breaks the signature.
	bad := bytes.Clone(crx)
	bad[len(bad)-30] ^= 1
	if _, _, err := VerifyCRX3(bad); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("tampered CRX: err = %v", err)
	}
}

// TestExtensionID_DevKey: the id computed from the repository's
// development public key is the documented development id.
func TestExtensionID_DevKey(t *testing.T) {
	b, err := os.ReadFile("../../extension/static/dev-key.pub.b64")
	if err != nil {
		t.Skip("no dev key in this checkout:", err)
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if id := ExtensionID(der); id != "jojkkadnmnpkbklmagcdhigmbdlcaoha" {
		t.Fatalf("dev id = %s", id)
	}
}

func TestVerifyCRX3_Malformed(t *testing.T) {
	tests := []struct {
		name string
		crx  []byte
		want string
	}{
		// A zip or other file renamed to .crx.
		{"no magic", []byte("PK\x03\x04........"), "no Cr24"},
		// CRX2 files are refused by current Chrome.
		{"version 2", []byte("Cr24\x02\x00\x00\x00\x00\x00\x00\x00"), "version 2"},
		// A header length past the end must not be trusted.
		{"header too long", []byte("Cr24\x03\x00\x00\x00\xff\xff\x00\x00"), "out of range"},
		{"empty header", []byte("Cr24\x03\x00\x00\x00\x00\x00\x00\x00"), "lacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := VerifyCRX3(tt.crx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestZipDir_Reproducible(t *testing.T) {
	dir := extDir(t)
	a, err := ZipDir(dir, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	// Touch the files: their own times must not matter.
	now := time.Now()
	os.Chtimes(filepath.Join(dir, "manifest.json"), now, now)
	b, _ := ZipDir(dir, time.Unix(1700000000, 0))
	if !bytes.Equal(a, b) {
		t.Fatal("zip differs between runs")
	}
}

func TestReadRSAKey(t *testing.T) {
	key := testKey(t)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	p := filepath.Join(t.TempDir(), "k.pem")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	got, err := ReadRSAKey(p)
	if err != nil || !got.Equal(key) {
		t.Fatalf("ReadRSAKey: %v", err)
	}
	os.WriteFile(p, []byte("not pem"), 0o600)
	if _, err := ReadRSAKey(p); err == nil {
		t.Fatal("accepted a non-PEM key")
	}
}

func TestUpdateManifest(t *testing.T) {
	b, err := UpdateManifest("jojkkadnmnpkbklmagcdhigmbdlcaoha", "0.1.0", "https://x.nhs.uk/oia.crx?a=1&b=2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "codebase='https://x.nhs.uk/oia.crx?a=1&amp;b=2'") {
		t.Fatalf("update manifest:\n%s", b)
	}
	if _, err := UpdateManifest("x", "1", "http://x/oia.crx"); err == nil {
		t.Fatal("accepted an http URL")
	}
}

// TestCRX3_ChromiumPacked cross-checks the format with Chromium itself:
// Chromium packs an extension with our key (--pack-extension), our reader
// verifies that CRX's signature, and both sides derive the same id. It
// runs where Chromium is installed (CI installs it for the e2e tests).
func TestCRX3_ChromiumPacked(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium")
	}
	dir := t.TempDir()
	ext := extDir(t)
	key := testKey(t)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPath := filepath.Join(dir, "key.pem")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+filepath.Join(dir, "udd"), "--pack-extension="+ext, "--pack-extension-key="+keyPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --pack-extension: %v\n%s", err, out)
	}
	crx, err := os.ReadFile(ext + ".crx")
	if err != nil {
		t.Fatalf("chromium wrote no CRX: %v", err)
	}
	id, _, err := VerifyCRX3(crx)
	if err != nil {
		t.Fatalf("our reader rejects Chromium's CRX: %v", err)
	}
	z, _ := ZipDir(ext, time.Unix(1700000000, 0))
	_, ours, err := CRX3(z, key)
	if err != nil {
		t.Fatal(err)
	}
	if id != ours {
		t.Fatalf("Chromium's id %s, ours %s", id, ours)
	}
}
