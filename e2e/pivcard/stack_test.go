// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/pivcard/pivcardtest"
	"github.com/openidentityagent/oia/e2e/testpki"
)

const pin = "123456"

// newCard makes a card for a fresh user of a fresh PKI.
func newCard(t *testing.T, uid string) *pivcard.Card {
	t.Helper()
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	return pivcardtest.NewCard(t, pki, uid, pin)
}

// pkcs11Tool runs OpenSC's pkcs11-tool against the stack.
func pkcs11Tool(t *testing.T, s *pivcard.Stack, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(pivcard.PKCS11Tool, append([]string{"--module", s.Module}, args...)...)
	cmd.Env = append(os.Environ(), s.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// waitToken waits until OpenSC lists a token in the reader.
func waitToken(t *testing.T, s *pivcard.Stack) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := pkcs11Tool(t, s, "--list-slots")
		if err == nil && strings.Contains(out, "token label") {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("OpenSC lists no token:\n%s\n%v", out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPKCS11ToolTest is OpenSC's own self-test of a token, with login,
// through pcscd and OpenSC's PIV driver.
func TestPKCS11ToolTest(t *testing.T) {
	s := pivcardtest.Start(t)
	c := newCard(t, "555000111222")
	var trace bytes.Buffer
	s.Reader.Trace(&trace)
	s.Reader.Insert(c)
	slots := waitToken(t, s)
	if !strings.Contains(slots, "555000111222") || !strings.Contains(slots, c.Serial()) {
		t.Errorf("slot list does not name the card holder and serial %s:\n%s", c.Serial(), slots)
	}
	out, err := pkcs11Tool(t, s, "--test", "--login", "--pin", pin)
	if err != nil || strings.Contains(out, "FAILED") || strings.Contains(out, "ERR") {
		t.Fatalf("pkcs11-tool --test --login: %v\n%s\nAPDUs:\n%s", err, out, trace.String())
	}
	t.Logf("pkcs11-tool --test --login:\n%s", out)
	if strings.Contains(trace.String(), pin) || strings.Contains(trace.String(), "313233343536") {
		t.Error("the APDU trace shows the passcode")
	}
	if c.TriesLeft() != pivcard.MaxTries {
		t.Errorf("tries left %d after a good login", c.TriesLeft())
	}
}
