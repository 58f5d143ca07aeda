// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build cgo

package vcard_test

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/vcard"
)

// tools returns the paths of pkcs11-tool (OpenSC) and openssl. Under make
// test (OIA_BIN set) they are required, as scripts/deps.sh installs them;
// under a bare go test their absence skips the test.
func tools(t *testing.T) (pkcs11Tool, openssl string) {
	t.Helper()
	var missing []string
	for _, name := range []string{"pkcs11-tool", "openssl"} {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name)
		}
		if name == "pkcs11-tool" {
			pkcs11Tool = p
		} else {
			openssl = p
		}
	}
	if len(missing) > 0 {
		if os.Getenv("OIA_BIN") != "" {
			t.Fatalf("%v not found; scripts/deps.sh installs opensc and openssl", missing)
		}
		t.Skipf("%v not found; install opensc and openssl", missing)
	}
	return pkcs11Tool, openssl
}

// tool runs pkcs11-tool on the card and returns its combined output; fail
// says whether the run is expected to fail.
func tool(t *testing.T, bin string, card *vcard.Card, fail bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--module", vcard.ModulePath(t)}, args...)...)
	cmd.Env = append(os.Environ(), card.Env())
	out, err := cmd.CombinedOutput()
	if (err != nil) != fail {
		t.Fatalf("pkcs11-tool %s: %v (want failure: %v)\n%s", strings.Join(args, " "), err, fail, out)
	}
	return string(out)
}

func wantIn(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestPKCS11Tool_SlotsObjectsSelfTest(t *testing.T) {
	p11, _ := tools(t)
	card := newCard(t, vcard.InitOptions{})
	serial := status(t, card).Serial

	out := tool(t, p11, card, false, "--list-slots")
	wantIn(t, out, "OIA Virtual Reader", "token label        : NHS Smartcard", "serial num         : "+serial, "pin min/max        : 4/8")
	out = tool(t, p11, card, false, "-O", "--login", "--pin", testPIN)
	wantIn(t, out, "Certificate Object; type = X.509 cert", "CN="+vcard.DefaultUID, "Public Key Object; RSA 2048 bits",
		"Private Key Object; RSA", "decrypt, sign", "sensitive")
	// pkcs11-tool's own test of the module: random, the four sign calls
	// (single and multi-part, size queries) and each mechanism.
	out = tool(t, p11, card, false, "--test", "--login", "--pin", testPIN)
	wantIn(t, out, "all 4 signature functions seem to work", "RSA-PKCS: OK", "SHA1-RSA-PKCS: OK", "SHA256-RSA-PKCS: OK", "No errors")

	if err := card.Remove(); err != nil {
		t.Fatal(err)
	}
	out = tool(t, p11, card, false, "--list-slots")
	wantIn(t, out, "OIA Virtual Reader", "(empty)")
	out = tool(t, p11, card, true, "--list-token-slots") // it fails when it lists nothing
	wantIn(t, out, "No slots")
	if strings.Contains(out, "OIA Virtual Reader") {
		t.Fatalf("--list-token-slots lists the reader with no card:\n%s", out)
	}
}

func TestPKCS11Tool_SignVerifiedByOpenSSL(t *testing.T) {
	p11, openssl := tools(t)
	card := newCard(t, vcard.InitOptions{})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	msg := []byte("challenge from the NHS Spine Security Broker")
	if err := os.WriteFile(data, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	// CKM_RSA_PKCS signs what it is given: a SHA-256 DigestInfo.
	sum := sha256.Sum256(msg)
	digestInfo := filepath.Join(dir, "digestinfo")
	di := append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, sum[:]...)
	if err := os.WriteFile(digestInfo, di, 0o600); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "pub.pem")
	if out, err := exec.Command(openssl, "x509", "-in", filepath.Join(card.Dir(), vcard.CertFile), "-pubkey", "-noout", "-out", pub).CombinedOutput(); err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		mech, input, digest string
	}{
		{"SHA256-RSA-PKCS", data, "-sha256"}, // the token hashes
		{"SHA1-RSA-PKCS", data, "-sha1"},     // old cards' algorithm
		{"RSA-PKCS", digestInfo, "-sha256"},  // the caller hashes
	} {
		t.Run(tc.mech, func(t *testing.T) {
			sig := filepath.Join(dir, tc.mech+".sig")
			tool(t, p11, card, false, "--login", "--pin", testPIN, "--sign", "-m", tc.mech, "-i", tc.input, "-o", sig)
			out, err := exec.Command(openssl, "dgst", tc.digest, "-verify", pub, "-signature", sig, data).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified OK") {
				t.Fatalf("openssl does not verify the %s signature: %v\n%s", tc.mech, err, out)
			}
		})
	}
}

func TestPKCS11Tool_PasscodeLocks(t *testing.T) {
	p11, _ := tools(t)
	card := newCard(t, vcard.InitOptions{})
	// Each run is a separate process, so the count lives on the card.
	for _, step := range []struct {
		pin   string
		err   string // in pkcs11-tool's output
		flags string // in --list-token-slots after it
	}{
		{"000000", "CKR_PIN_INCORRECT", "user PIN count low"},
		{"000000", "CKR_PIN_INCORRECT", "final user PIN try"},
		{"000000", "CKR_PIN_INCORRECT", "user PIN locked"},
		{testPIN, "CKR_PIN_LOCKED", "user PIN locked"},
	} {
		out := tool(t, p11, card, true, "--login", "--pin", step.pin, "-O")
		wantIn(t, out, step.err)
		wantIn(t, tool(t, p11, card, false, "--list-token-slots"), step.flags)
	}
	if err := card.Unlock(); err != nil {
		t.Fatal(err)
	}
	tool(t, p11, card, false, "--login", "--pin", testPIN, "-O")
}

func TestPKCS11Tool_WarnsOnceOnStderr(t *testing.T) {
	p11, _ := tools(t)
	card := newCard(t, vcard.InitOptions{})
	if err := os.WriteFile(filepath.Join(card.Dir(), vcard.StateFile), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p11, "--module", vcard.ModulePath(t), "--list-slots", "--list-mechanisms")
	cmd.Env = append(os.Environ(), card.Env())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Run() // it fails: the card is broken
	// Many calls fail, one line explains why; stdout (the host's native
	// messaging channel) gets nothing from the module.
	if n := strings.Count(stderr.String(), "liboia-vcard: "); n != 1 {
		t.Fatalf("%d warnings on stderr; want exactly 1:\n%s", n, stderr.String())
	}
	wantIn(t, stderr.String(), "malformed", "oia-vcard init --force")
	if strings.Contains(stdout.String(), "liboia-vcard") {
		t.Fatalf("the module wrote to stdout:\n%s", stdout.String())
	}
}
