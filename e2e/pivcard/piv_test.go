// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/openidentityagent/oia/e2e/testpki"
)

func testCard(t *testing.T) *Card {
	t.Helper()
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	u, err := pki.IssueUser("555000111222", "Test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(u.Cert, u.Key, "123456")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func apdu(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pkcs1 is an RSA PKCS#1 v1.5 signature block for a SHA-256 digest.
func pkcs1(digest []byte) []byte {
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	t := append(prefix, digest...)
	b := make([]byte, 256)
	b[1] = 1
	for i := 2; i < 256-len(t)-1; i++ {
		b[i] = 0xff
	}
	copy(b[256-len(t):], t)
	return b
}

// TestSignChainedThroughGetResponse sends a signature as OpenSC does: two
// chained parts, then the answer in a 256-byte part and a GET RESPONSE.
func TestSignChainedThroughGetResponse(t *testing.T) {
	c := testCard(t)
	if _, sw := c.Process(apdu(t, "0020008008313233343536ffff")); sw != SWOK {
		t.Fatalf("verify: %04X", sw)
	}
	digest := sha256.Sum256([]byte("challenge"))
	body := append([]byte{0x7c, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00}, pkcs1(digest[:])...)
	first := append([]byte{0x10, 0x87, 0x07, 0x9a, 0xff}, body[:255]...)
	if _, sw := c.Process(first); sw != SWOK {
		t.Fatalf("first part: %04X", sw)
	}
	last := append(append([]byte{0x00, 0x87, 0x07, 0x9a, byte(len(body) - 255)}, body[255:]...), 0x00)
	resp, sw := c.Process(last)
	if sw != 0x6108 || len(resp) != 256 {
		t.Fatalf("last part: %d bytes %04X, want 256 and 6108", len(resp), sw)
	}
	more, sw := c.Process(apdu(t, "00c0000008"))
	if sw != SWOK || len(more) != 8 {
		t.Fatalf("get response: %d bytes %04X", len(more), sw)
	}
	all := append(resp, more...)
	if !bytes.HasPrefix(all, []byte{0x7c, 0x82, 0x01, 0x04, 0x82, 0x82, 0x01, 0x00}) {
		t.Fatalf("answer starts % x", all[:8])
	}
	if err := rsa.VerifyPKCS1v15(c.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], all[8:]); err != nil {
		t.Fatal(err)
	}
}
