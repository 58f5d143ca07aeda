// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/protocol"
	"go.mozilla.org/pkcs7"
)

// challenge is shaped like a real one: 48 bytes, as the broker sends.
var challenge = []byte("0123456789abcdef\x00\x00\x01\x5c\xef\x21\xfa\x4d0123456789abcdef0123456")

var (
	pkiOnce sync.Once
	pki     *testpki.PKI
	user    *testpki.User
	pkiErr  error
)

// testPKI returns one test PKI and user for the whole package: key
// generation is the slow part of these tests.
func testPKI(t testing.TB) (*testpki.PKI, *testpki.User) {
	t.Helper()
	pkiOnce.Do(func() {
		if pki, pkiErr = testpki.New(); pkiErr == nil {
			user, pkiErr = pki.IssueUser("102048843983", "Test User")
		}
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki, user
}

// The ASN.1 of the profile, written out independently of pkcs7 so that the
// test checks the bytes, not pkcs7's idea of them.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []asn1.RawValue `asn1:"set"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     []byte `asn1:"explicit,tag:0"`
}

type signerInfo struct {
	Version            int
	IssuerAndSerial    issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSHA1       = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	null          = []byte{0x05, 0x00}
)

// unmarshalAll parses der into v and fails on trailing bytes.
func unmarshalAll(t *testing.T, der []byte, v any, what string) {
	t.Helper()
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(rest) != 0 {
		t.Fatalf("%s: %d trailing bytes", what, len(rest))
	}
}

func TestSign_Profile(t *testing.T) {
	_, u := testPKI(t)
	for _, tc := range []struct {
		name string
		hash crypto.Hash
		oid  asn1.ObjectIdentifier
		// sum hashes the challenge as the signature must have.
		sum func([]byte) []byte
	}{
		// Every genuine capture is SHA-1; 0 means the default.
		{"default", 0, oidSHA1, func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
		{"sha1", crypto.SHA1, oidSHA1, func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
		// Series 8+ cards can do SHA-256; whether the broker takes it is open.
		{"sha256", crypto.SHA256, oidSHA256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := Sign(challenge, u.Cert, u.Key, tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			var ci contentInfo
			unmarshalAll(t, der, &ci, "ContentInfo")
			if !ci.ContentType.Equal(oidSignedData) {
				t.Fatalf("content type %v, want signedData", ci.ContentType)
			}
			var sd signedData
			unmarshalAll(t, ci.Content.Bytes, &sd, "SignedData")
			if sd.Version != 1 {
				t.Errorf("SignedData version %d, want 1", sd.Version)
			}
			if len(sd.DigestAlgorithms) != 1 || !sd.DigestAlgorithms[0].Algorithm.Equal(tc.oid) ||
				!bytes.Equal(sd.DigestAlgorithms[0].Parameters.FullBytes, null) {
				t.Errorf("digestAlgorithms %+v, want one %v with NULL parameters", sd.DigestAlgorithms, tc.oid)
			}
			if !sd.EncapContentInfo.ContentType.Equal(oidData) {
				t.Errorf("encapsulated content type %v, want data", sd.EncapContentInfo.ContentType)
			}
			if !bytes.Equal(sd.EncapContentInfo.Content, challenge) {
				t.Errorf("attached content %x, want the challenge %x", sd.EncapContentInfo.Content, challenge)
			}
			// certificates [0] IMPLICIT SET OF: exactly the user's certificate.
			if sd.Certificates.Tag != 0 || sd.Certificates.Class != asn1.ClassContextSpecific ||
				!bytes.Equal(sd.Certificates.Bytes, u.Cert.Raw) {
				t.Errorf("certificates are not exactly the user's certificate")
			}
			if len(sd.CRLs.FullBytes) != 0 {
				t.Errorf("crls present, want none")
			}
			if len(sd.SignerInfos) != 1 {
				t.Fatalf("%d signerInfos, want 1", len(sd.SignerInfos))
			}
			var si signerInfo
			unmarshalAll(t, sd.SignerInfos[0].FullBytes, &si, "SignerInfo")
			if si.Version != 1 {
				t.Errorf("SignerInfo version %d, want 1", si.Version)
			}
			if !bytes.Equal(si.IssuerAndSerial.Issuer.FullBytes, u.Cert.RawIssuer) || si.IssuerAndSerial.Serial.Cmp(u.Cert.SerialNumber) != 0 {
				t.Errorf("issuerAndSerialNumber does not name the user's certificate")
			}
			if !si.DigestAlgorithm.Algorithm.Equal(tc.oid) || !bytes.Equal(si.DigestAlgorithm.Parameters.FullBytes, null) {
				t.Errorf("signer digest algorithm %+v, want %v with NULL", si.DigestAlgorithm, tc.oid)
			}
			if len(si.SignedAttrs.FullBytes) != 0 || len(si.UnsignedAttrs.FullBytes) != 0 {
				t.Errorf("attributes present, want none")
			}
			if !si.SignatureAlgorithm.Algorithm.Equal(oidRSA) || !bytes.Equal(si.SignatureAlgorithm.Parameters.FullBytes, null) {
				t.Errorf("signature algorithm %+v, want rsaEncryption with NULL", si.SignatureAlgorithm)
			}
			h := tc.hash
			if h == 0 {
				h = crypto.SHA1
			}
			if err := rsa.VerifyPKCS1v15(&u.Key.PublicKey, h, tc.sum(challenge), si.Signature); err != nil {
				t.Errorf("signature does not verify over %v(challenge): %v", h, err)
			}

			// And pkcs7 itself, as the broker simulator reads it.
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if len(p7.Certificates) != 1 || !p7.Certificates[0].Equal(u.Cert) || !bytes.Equal(p7.Content, challenge) {
				t.Errorf("pkcs7.Parse: %d certificates, content %x", len(p7.Certificates), p7.Content)
			}
			if err := p7.Verify(); err != nil {
				t.Errorf("pkcs7 Verify: %v", err)
			}
		})
	}
}

// TestSign_OpenSSL checks each output with the real openssl cms -verify
// against the test PKI's root and issuing authority.
func TestSign_OpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: apt-get install openssl (scripts/deps.sh)")
	}
	p, u := testPKI(t)
	dir := t.TempDir()
	chain := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(chain, append(testpki.CertPEM(p.Root.Cert), testpki.CertPEM(p.Issuing.Cert)...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		t.Run(h.String(), func(t *testing.T) {
			der, err := Sign(challenge, u.Cert, u.Key, h)
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, h.String()+".p7")
			if err := os.WriteFile(in, der, 0o644); err != nil {
				t.Fatal(err)
			}
			// -purpose any: the user certificate is for client auth, not
			// S/MIME, which openssl cms checks by default.
			cmd := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", in,
				"-CAfile", chain, "-purpose", "any", "-binary")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl cms -verify: %v\n%s", err, stderr.Bytes())
			}
			if !bytes.Equal(out, challenge) {
				t.Errorf("openssl printed content %x, want the challenge %x", out, challenge)
			}
			if !bytes.Contains(stderr.Bytes(), []byte("Verification successful")) {
				t.Errorf("openssl did not report success: %s", stderr.Bytes())
			}
		})
	}
}

// recordingSigner is a crypto.MessageSigner over an RSA key that records
// what it was asked to sign.
type recordingSigner struct {
	key      *rsa.PrivateKey
	messages [][]byte
	digests  [][]byte
}

var _ crypto.MessageSigner = (*recordingSigner)(nil)

func (r *recordingSigner) Public() crypto.PublicKey { return r.key.Public() }

func (r *recordingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.digests = append(r.digests, digest)
	return r.key.Sign(rand, digest, opts)
}

func (r *recordingSigner) SignMessage(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.messages = append(r.messages, msg)
	h := opts.HashFunc().New()
	h.Write(msg)
	return r.key.Sign(rand, h.Sum(nil), opts)
}

// TestSign_MessageSigner checks that a signer able to hash (a card with
// CKM_SHA1_RSA_PKCS) gets the challenge itself, once.
func TestSign_MessageSigner(t *testing.T) {
	_, u := testPKI(t)
	rs := &recordingSigner{key: u.Key}
	if _, err := Sign(challenge, u.Cert, rs, crypto.SHA1); err != nil {
		t.Fatal(err)
	}
	if len(rs.messages) != 1 || !bytes.Equal(rs.messages[0], challenge) || len(rs.digests) != 0 {
		t.Errorf("signer got messages %x and digests %x, want the challenge once", rs.messages, rs.digests)
	}
}

// failingSigner returns err from Sign.
type failingSigner struct {
	pub crypto.PublicKey
	err error
}

func (f failingSigner) Public() crypto.PublicKey { return f.pub }
func (f failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, f.err
}

func TestSign_Errors(t *testing.T) {
	p, u := testPKI(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert := selfSigned(t, ecKey)
	removed := protocol.New(protocol.CodeCardRemoved)
	for _, tc := range []struct {
		name    string
		content []byte
		cert    *x509.Certificate
		signer  crypto.Signer
		hash    crypto.Hash
		want    protocol.Code
	}{
		// The broker never sends an empty challenge; signing one proves nothing.
		{"empty challenge", nil, u.Cert, u.Key, crypto.SHA1, protocol.CodeBadRequest},
		// Bounded input: a huge "challenge" is not from a broker.
		{"huge challenge", make([]byte, MaxChallengeSize+1), u.Cert, u.Key, crypto.SHA1, protocol.CodeBadRequest},
		// MD5 and friends are not in the profile.
		{"md5", challenge, u.Cert, u.Key, crypto.MD5, protocol.CodeInternal},
		// The profile is rsaEncryption only.
		{"ecdsa certificate", challenge, ecCert, ecKey, crypto.SHA1, protocol.CodeCardError},
		// A key that does not belong to the certificate must not reach the broker.
		{"key mismatch", challenge, u.Cert, other, crypto.SHA1, protocol.CodeNoKeyFound},
		// The card's own error code (removal mid-signature) must survive.
		{"card removed", challenge, u.Cert, failingSigner{u.Key.Public(), removed}, crypto.SHA1, protocol.CodeCardRemoved},
		// Missing arguments are a programming error, reported not panicked.
		{"nil cert", challenge, nil, u.Key, crypto.SHA1, protocol.CodeInternal},
		{"nil signer", challenge, p.Issuing.Cert, nil, crypto.SHA1, protocol.CodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := Sign(tc.content, tc.cert, tc.signer, tc.hash)
			if err == nil {
				t.Fatalf("Sign succeeded (%d bytes), want %s", len(der), tc.want)
			}
			if got := protocol.CodeOf(err); got != tc.want {
				t.Errorf("code %s (%v), want %s", got, err, tc.want)
			}
		})
	}
	// The removal error is the card's, not a copy.
	_, err = Sign(challenge, u.Cert, failingSigner{u.Key.Public(), removed}, crypto.SHA1)
	if !errors.Is(err, removed) {
		t.Errorf("error %v does not wrap the signer's", err)
	}
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "555000111222"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
