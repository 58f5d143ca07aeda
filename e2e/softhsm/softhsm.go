// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package softhsm provisions SoftHSM2 tokens that look like NHS smartcards,
// for tests: a private token directory and configuration, tokens holding a
// test PKI user's key and certificate under one CKA_ID, and a p11-kit server
// in front of a token (whose death reads as card removal).
//
// Everything is done with the command-line tools (softhsm2-util,
// pkcs11-tool, p11-kit), never by loading the SoftHSM module into the test
// process: SoftHSM reads SOFTHSM2_CONF once, at C_Initialize, and a process
// may initialise it only once, so the code under test must be the only user
// of the module in its process. Point it at a [Dir] with [Dir.Setenv] (or
// [Dir.Env] for a subprocess) before it opens the module. A running process
// sees tokens added later only after re-initialising the module.
package softhsm

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/testpki"
)

// Module paths to try, the Debian one first.
var modulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// SOPIN is the security officer PIN of every token made here.
const SOPIN = "87654321"

// ModulePath returns the installed SoftHSM2 module, or "" when there is
// none.
func ModulePath() string {
	for _, p := range modulePaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Available returns nil when SoftHSM2 and the tools this package runs are
// installed, else an error that says what to install.
func Available() error {
	if ModulePath() == "" {
		return errors.New("softhsm2 is not installed: apt-get install softhsm2 (scripts/deps.sh)")
	}
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed: apt-get install softhsm2 opensc (scripts/deps.sh)", tool)
		}
	}
	return nil
}

// Dir is a private SoftHSM2 token directory and the configuration file
// that points at it.
type Dir struct {
	Path string // the token directory
	Conf string // the SOFTHSM2_CONF file
}

// NewDir makes a token directory and configuration under parent.
func NewDir(parent string) (*Dir, error) {
	d := &Dir{Path: filepath.Join(parent, "tokens"), Conf: filepath.Join(parent, "softhsm2.conf")}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = true\n", d.Path)
	if err := os.WriteFile(d.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return d, nil
}

// New makes a Dir in t.TempDir(), skipping the test when SoftHSM2 is not
// installed.
func New(t testing.TB) *Dir {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Env returns the environment entry that points SoftHSM at d.
func (d *Dir) Env() string { return "SOFTHSM2_CONF=" + d.Conf }

// Setenv points this process's SoftHSM at d for the rest of the test. It
// must be called before the module is first initialised.
func (d *Dir) Setenv(t testing.TB) {
	t.Helper()
	t.Setenv("SOFTHSM2_CONF", d.Conf)
}

// run runs a tool with SOFTHSM2_CONF set to d. Its output may hold the
// PIN in the argument list, never in the output: fine for test PINs.
func (d *Dir) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), d.Env())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", name, args[0], err, out.String())
	}
	return out.String(), nil
}

var serialPattern = regexp.MustCompile(`(?m)^\s*Serial number:\s*(\S+)`)

// InitToken makes an empty token labelled label with user PIN pin and
// returns its serial number.
func (d *Dir) InitToken(label, pin string) (string, error) {
	if _, err := d.run("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", SOPIN, "--pin", pin); err != nil {
		return "", err
	}
	out, err := d.run("softhsm2-util", "--show-slots")
	if err != nil {
		return "", err
	}
	// --show-slots prints each slot's token block; find ours.
	for _, block := range strings.Split(out, "Slot ") {
		if strings.Contains(block, "Label:            "+label+"\n") || strings.Contains(block, "Label:            "+label+" ") {
			if m := serialPattern.FindStringSubmatch(block); m != nil {
				return m[1], nil
			}
		}
	}
	return "", fmt.Errorf("softhsm2-util --show-slots does not list token %q", label)
}

// ImportKey stores user's private key (and its public key) on the token
// labelled label under CKA_ID id and CKA_LABEL objLabel.
func (d *Dir) ImportKey(label, pin string, user *testpki.User, id []byte, objLabel string) error {
	f := filepath.Join(filepath.Dir(d.Conf), hex.EncodeToString(id)+"-"+user.UID+".key.pem")
	if err := os.WriteFile(f, testpki.KeyPEM(user.Key), 0o600); err != nil {
		return err
	}
	defer os.Remove(f)
	_, err := d.run("softhsm2-util", "--import", f, "--token", label, "--pin", pin, "--id", hex.EncodeToString(id), "--label", objLabel)
	return err
}

// ImportCert stores cert on the token labelled label under CKA_ID id and
// CKA_LABEL objLabel (pkcs11-tool sets CKA_SUBJECT, which SoftHSM needs).
func (d *Dir) ImportCert(label, pin string, cert *x509.Certificate, id []byte, objLabel string) error {
	f := filepath.Join(filepath.Dir(d.Conf), hex.EncodeToString(id)+"-"+cert.SerialNumber.Text(16)+".crt.der")
	if err := os.WriteFile(f, cert.Raw, 0o600); err != nil {
		return err
	}
	defer os.Remove(f)
	_, err := d.run("pkcs11-tool", "--module", ModulePath(), "--token-label", label, "--login", "--pin", pin,
		"--write-object", f, "--type", "cert", "--id", hex.EncodeToString(id), "--label", objLabel)
	return err
}

// DeleteToken removes the token labelled label, as if the card were pulled
// (a running process sees it only as errors; see the package doc).
func (d *Dir) DeleteToken(label string) error {
	_, err := d.run("softhsm2-util", "--delete-token", "--token", label)
	return err
}

// Card is a provisioned token.
type Card struct {
	Label  string
	Serial string
	PIN    string
	User   *testpki.User
}

// AddCard makes a token labelled label holding user's key and certificate
// under CKA_ID 01 (labels "auth-key", "auth-cert"), as on an NHS card.
func (d *Dir) AddCard(label, pin string, user *testpki.User) (*Card, error) {
	serial, err := d.InitToken(label, pin)
	if err != nil {
		return nil, err
	}
	id := []byte{0x01}
	if err := d.ImportKey(label, pin, user, id, "auth-key"); err != nil {
		return nil, err
	}
	if err := d.ImportCert(label, pin, user.Cert, id, "auth-cert"); err != nil {
		return nil, err
	}
	return &Card{Label: label, Serial: serial, PIN: pin, User: user}, nil
}

// NewToken is the one-call form for a test: a new Dir in t.TempDir()
// pointed to by SOFTHSM2_CONF for the rest of the test, holding one card
// for user. It returns the module path and the token label, and skips the
// test when SoftHSM2 is not installed.
func NewToken(t testing.TB, user *testpki.User, pin string) (modulePath, label string) {
	t.Helper()
	d := New(t)
	label = "OIA-" + user.UID
	if _, err := d.AddCard(label, pin, user); err != nil {
		t.Fatal(err)
	}
	d.Setenv(t)
	return ModulePath(), label
}
