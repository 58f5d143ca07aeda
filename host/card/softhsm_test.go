// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/softhsm"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// The fixture every real-module test shares. SoftHSM reads SOFTHSM2_CONF
// and p11-kit-client reads P11_KIT_SERVER_ADDRESS once per process, so
// TestMain makes every token first and points both at them.
var fx struct {
	skip   string // why real-module tests skip, when they do
	dir    *softhsm.Dir
	pki    *testpki.PKI
	alice  *softhsm.Card // a normal card
	bob    *softhsm.Card // for wrong passcodes
	carol  *testpki.User // for cards made during a test
	holder *testpki.User // on every virtual card of TestVCard
	remote *softhsm.Card // behind the p11-kit server
	server *softhsm.Server
	chain  string // PEM file: root then issuing
}

const (
	labelAmbiguous = "OIA-TWO-CERTS"
	labelNoCert    = "OIA-NO-CERT"
	labelNoKey     = "OIA-NO-KEY"
	pin            = "123456"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "oia-card-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := setupFixture(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "card tests: fixture:", err)
		return 1
	}
	if fx.server != nil {
		defer fx.server.Remove()
	}
	return m.Run()
}

func setupFixture(tmp string) error {
	if err := softhsm.Available(); err != nil {
		fx.skip = err.Error()
		return nil
	}
	var err error
	if fx.pki, err = testpki.New(); err != nil {
		return err
	}
	fx.chain = filepath.Join(tmp, "chain.pem")
	if err := os.WriteFile(fx.chain, append(testpki.CertPEM(fx.pki.Root.Cert), testpki.CertPEM(fx.pki.Issuing.Cert)...), 0o644); err != nil {
		return err
	}
	users := map[string]*testpki.User{}
	for uid, name := range map[string]string{"100000000001": "Alice", "100000000002": "Bob", "100000000003": "Carol"} {
		if users[name], err = fx.pki.IssueUser(uid, name); err != nil {
			return err
		}
	}
	if fx.dir, err = softhsm.NewDir(tmp); err != nil {
		return err
	}
	d := fx.dir
	if fx.alice, err = d.AddCard("OIA-ALICE", pin, users["Alice"]); err != nil {
		return err
	}
	if fx.bob, err = d.AddCard("OIA-BOB", pin, users["Bob"]); err != nil {
		return err
	}
	fx.carol = users["Carol"]
	if fx.remote, err = d.AddCard("OIA-REMOTE", pin, users["Alice"]); err != nil {
		return err
	}
	// Two login certificates with their keys: which one to use is unknowable.
	if _, err := d.AddCard(labelAmbiguous, pin, users["Alice"]); err != nil {
		return err
	}
	if err := d.ImportKey(labelAmbiguous, pin, users["Carol"], []byte{2}, "second-key"); err != nil {
		return err
	}
	if err := d.ImportCert(labelAmbiguous, pin, users["Carol"].Cert, []byte{2}, "second-cert"); err != nil {
		return err
	}
	// A key and no certificate; a certificate and no key.
	if _, err := d.InitToken(labelNoCert, pin); err != nil {
		return err
	}
	if err := d.ImportKey(labelNoCert, pin, users["Bob"], []byte{1}, "auth-key"); err != nil {
		return err
	}
	if _, err := d.InitToken(labelNoKey, pin); err != nil {
		return err
	}
	if err := d.ImportCert(labelNoKey, pin, users["Bob"].Cert, []byte{1}, "auth-cert"); err != nil {
		return err
	}
	os.Setenv("SOFTHSM2_CONF", d.Conf)
	if fx.holder, err = fx.pki.IssueUser(vcard.DefaultUID, vcard.DefaultName); err != nil {
		return err
	}
	if fx.server, err = softhsm.NewServer(d, fx.remote.Label); err != nil {
		fmt.Fprintln(os.Stderr, "card tests: p11-kit tests will skip:", err)
		fx.server = nil
	} else {
		os.Setenv("P11_KIT_SERVER_ADDRESS", strings.TrimPrefix(fx.server.Env(), "P11_KIT_SERVER_ADDRESS="))
	}
	return nil
}

// openSoftHSM opens the SoftHSM module for one test.
func openSoftHSM(t *testing.T) *Module {
	t.Helper()
	if fx.skip != "" {
		t.Skip(fx.skip)
	}
	m, err := Open(softhsm.ModulePath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// tokenByLabel finds a token of m.
func tokenByLabel(t *testing.T, m *Module, label string) Token {
	t.Helper()
	toks, err := m.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Label == label {
			return tok
		}
	}
	t.Fatalf("no token %q among %v", label, toks)
	return Token{}
}

// session opens a session on the token labelled label.
func session(t *testing.T, m *Module, label string) *Session {
	t.Helper()
	s, err := OpenSession(tokenByLabel(t, m, label))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Logout(); s.Close() })
	return s
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code protocol.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := protocol.CodeOf(err); got != code {
		t.Fatalf("code %s (%v), want %s", got, err, code)
	}
}

func TestSoftHSM_Tokens(t *testing.T) {
	m := openSoftHSM(t)
	toks, err := m.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]Token{}
	for _, tok := range toks {
		if tok.Label == "" {
			t.Errorf("uninitialised token listed: %+v", tok)
		}
		labels[tok.Label] = tok
	}
	a, ok := labels["OIA-ALICE"]
	if !ok {
		t.Fatalf("OIA-ALICE missing from %v", toks)
	}
	if a.Serial != fx.alice.Serial || a.ModulePath != m.Path() || a.Manufacturer != "SoftHSM project" {
		t.Errorf("token %+v, want serial %s from %s", a, fx.alice.Serial, m.Path())
	}
	if !strings.Contains(m.Description(), "SoftHSM") {
		t.Errorf("description %q does not name SoftHSM", m.Description())
	}
}

func TestSoftHSM_OpenTwiceSharesModule(t *testing.T) {
	m := openSoftHSM(t)
	m2, err := Open(softhsm.ModulePath())
	if err != nil {
		t.Fatal(err)
	}
	if m2 != m {
		t.Errorf("second Open made a second module")
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Tokens(); err != nil {
		t.Errorf("the first holder's module stopped working after the second Close: %v", err)
	}
}

func TestSoftHSM_IdentityBeforeLogin(t *testing.T) {
	m := openSoftHSM(t)
	s := session(t, m, "OIA-ALICE")
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if id.UID != fx.alice.User.UID || !id.ValidUID() || !id.Cert.Equal(fx.alice.User.Cert) ||
		!bytes.Equal(id.KeyID, []byte{1}) || id.Label != "auth-cert" {
		t.Errorf("identity %+v, want uid %s, label auth-cert, id 01", id, fx.alice.User.UID)
	}
	st, err := s.PINStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.AttemptsLeft != 3 || st.Locked || st.FinalTry || st.PINPad {
		t.Errorf("fresh card status %+v, want 3 attempts", st)
	}
	// Before login the key is not visible: a clear state error, not NO_KEY.
	_, err = s.Signer()
	wantCode(t, err, protocol.CodeInvalidState)
}

// TestSoftHSM_SignVerifiedByOpenSSL is the whole path: card login, card
// signer, host/cms, and openssl cms -verify against the test PKI.
func TestSoftHSM_SignVerifiedByOpenSSL(t *testing.T) {
	m := openSoftHSM(t)
	s := session(t, m, "OIA-ALICE")
	if err := s.Login(pin); err != nil {
		t.Fatal(err)
	}
	id, err := s.Identity()
	if err != nil {
		t.Fatal(err)
	}
	sg, err := s.Signer()
	if err != nil {
		t.Fatal(err)
	}
	challenge := []byte("MlJN9BVjTdKtTpKrSz3Jvq0sONIAAAFc7yH6TYe8NK6GHS7F")
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		t.Run(h.String(), func(t *testing.T) {
			der, err := cms.Sign(challenge, id.Cert, sg, h)
			if err != nil {
				t.Fatal(err)
			}
			verifyOpenSSL(t, der, challenge)
		})
	}
	// The digest path (CKM_RSA_PKCS over a DigestInfo) signs the same.
	sum := sha256.Sum256(challenge)
	sig, err := sg.Sign(nil, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(id.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("CKM_RSA_PKCS signature does not verify: %v", err)
	}
	ms, ok := sg.(crypto.MessageSigner)
	if !ok {
		t.Fatalf("the signer is a %T, want a crypto.MessageSigner", sg)
	}
	msgSig, err := ms.SignMessage(nil, challenge, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msgSig, sig) {
		t.Errorf("card hashing (CKM_SHA256_RSA_PKCS) and Go hashing (CKM_RSA_PKCS) differ")
	}
}

func verifyOpenSSL(t *testing.T, der, content []byte) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed (scripts/deps.sh)")
	}
	in := filepath.Join(t.TempDir(), "sig.p7")
	if err := os.WriteFile(in, der, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", fx.chain, "-purpose", "any", "-binary")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, stderr.Bytes())
	}
	if !bytes.Equal(out, content) {
		t.Errorf("openssl printed %q, want the challenge", out)
	}
}

func TestSoftHSM_WrongPIN(t *testing.T) {
	m := openSoftHSM(t)
	s := session(t, m, "OIA-BOB")
	err := s.Login("999999")
	wantCode(t, err, protocol.CodePINIncorrect)
	st, ok := PINStatusOf(err)
	if !ok || st.AttemptsLeft != 2 {
		t.Errorf("status after a wrong passcode %+v (%v), want 2 attempts left (COUNT_LOW)", st, ok)
	}
	if pe := err.(*protocol.Error); !strings.Contains(pe.Message, "2 attempts left") || strings.Contains(err.Error(), "999999") {
		t.Errorf("message %q: want the attempts left and never the passcode", err)
	}
	if st, _ := s.PINStatus(); st.AttemptsLeft != 2 {
		t.Errorf("PINStatus %+v, want 2 attempts left", st)
	}
	// SoftHSM keeps COUNT_LOW up and never locks: the host must not count
	// down on its own past what the flags say (the inference for OpenSC's
	// PIV driver starts only from no flag at all).
	err = s.Login("999999")
	if st, _ := PINStatusOf(err); st.AttemptsLeft != 2 || st.FinalTry {
		t.Errorf("status after a second wrong passcode %+v, want 2 attempts left, not the final try", st)
	}
	if err := s.Login(pin); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.PINStatus(); st.AttemptsLeft != 3 {
		t.Errorf("after a good passcode status %+v, want 3 attempts (COUNT_LOW cleared)", st)
	}
}

// TestSoftHSM_PINRefusedBeforeCard checks that passcodes the card cannot
// take never reach C_Login (which would count them): the card shows no
// wrong attempt afterwards.
func TestSoftHSM_PINRefusedBeforeCard(t *testing.T) {
	m := openSoftHSM(t)
	s := session(t, m, "OIA-ALICE")
	for _, tc := range []struct{ name, pin string }{
		{"empty", ""},       // nothing typed
		{"nul", "12\x0034"}, // would be cut short in C
		{"too long", strings.Repeat("1", MaxPINLength+1)}, // bounded input
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Login(tc.pin)
			wantCode(t, err, protocol.CodePINInvalid)
			if st, err := s.PINStatus(); err != nil || st.AttemptsLeft != 3 {
				t.Errorf("status %+v (%v): the card counted an attempt", st, err)
			}
		})
	}
}

func TestSoftHSM_CardProblems(t *testing.T) {
	m := openSoftHSM(t)
	for _, tc := range []struct {
		label string
		login bool
		want  protocol.Code
		names []string // the cause must name these
	}{
		// Two certificates both fit: refuse rather than guess.
		{labelAmbiguous, false, protocol.CodeCardAmbiguous, []string{`"auth-cert"`, `"second-cert"`}},
		// A key but no certificate.
		{labelNoCert, false, protocol.CodeNoCertFound, nil},
		// A certificate whose key is missing: found only after login.
		{labelNoKey, true, protocol.CodeNoKeyFound, []string{"01"}},
	} {
		t.Run(tc.label, func(t *testing.T) {
			s := session(t, m, tc.label)
			var err error
			if tc.login {
				if err := s.Login(pin); err != nil {
					t.Fatal(err)
				}
				_, err = s.Signer()
			} else {
				_, err = s.Identity()
			}
			wantCode(t, err, tc.want)
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("%v does not name %s", err, n)
				}
			}
		})
	}
}

// TestSoftHSM_TokenDeleted: SoftHSM answers CKR_GENERAL_ERROR from
// C_GetTokenInfo for a deleted token; the watcher re-initialises the module
// and reports the removal; the old session is dead.
func TestSoftHSM_TokenDeleted(t *testing.T) {
	m := openSoftHSM(t)
	// A card of its own, made now, so that the test can run again (-count).
	dave, err := fx.dir.AddCard(fmt.Sprintf("OIA-DAVE-%d", time.Now().UnixNano()), pin, fx.carol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reinitialize(); err != nil { // SoftHSM sees new tokens only now
		t.Fatal(err)
	}
	s := session(t, m, dave.Label)
	if err := s.Login(pin); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher([]*Module{m}, 0)
	w.Poll()
	if err := fx.dir.DeleteToken(dave.Label); err != nil {
		t.Fatal(err)
	}
	_, err = s.PINStatus()
	wantCode(t, err, protocol.CodeCardRemoved)
	evs := w.Poll()
	if len(evs) != 1 || evs[0].Kind != Removed || evs[0].Token.Label != dave.Label {
		t.Fatalf("events %v, want dave removed", evs)
	}
	if _, err := s.Identity(); err != nil {
		// Identity was cached before: fine either way; the session must
		// refuse card operations.
		wantCode(t, err, protocol.CodeCardRemoved)
	}
	_, err = s.PINStatus()
	wantCode(t, err, protocol.CodeCardRemoved)
	// The other cards survive the re-initialisation.
	s2 := session(t, m, "OIA-ALICE")
	if err := s2.Login(pin); err != nil {
		t.Fatal(err)
	}
}
