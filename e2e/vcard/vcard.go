// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package vcard drives the virtual NHS smartcard: a real PKCS#11 module
// (liboia-vcard.so, written in C, source in module/) that the host loads by
// path exactly as it loads OpenSC, and whose card can be locked, removed,
// inserted, swapped and given a PIN pad while the host runs. SoftHSM2 can do
// none of these.
//
// A card is a directory: the module finds it through the environment
// variable OIA_VCARD_DIR ([EnvDir]), read at every C_Initialize. [Init]
// makes one, with a user certificate from the test PKI (package testpki);
// [Open] opens one; the [Card] methods change it, and the module sees each
// change at its next call. The command oia-vcard is a thin shell over this
// package.
//
// # Tests
//
// [ModulePath] gives a test the module's path: $OIA_LIB/liboia-vcard.so when
// OIA_LIB is set (make test sets it), otherwise one compiled with the C
// compiler from the source embedded in this package. A typical test:
//
//	card, err := vcard.Init(t.TempDir(), vcard.InitOptions{PIN: "123456", PKI: pki})
//	t.Setenv(vcard.EnvDir, card.Dir())
//	p := pkcs11.New(vcard.ModulePath(t))
//
// The module is loaded once per process (dlopen), so one process drives one
// card at a time. To move to another card, finalize the module, point
// OIA_VCARD_DIR at the other card and initialize it again: C_Initialize reads
// the variable afresh and C_Finalize forgets the old card's sessions and
// login. Tests that give each case a card of its own do this (host/card's
// TestVCard).
//
// # Concurrency
//
// Every change takes the directory's exclusive flock and replaces the state
// file atomically, as the module does, so a [Card] may be used from several
// goroutines and processes at once.
package vcard

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/openidentityagent/oia/e2e/testpki"
)

// EnvDir is the environment variable that names the card directory for the
// module.
const EnvDir = "OIA_VCARD_DIR"

// MaxAttempts is how many wrong passcodes lock the card, as on NHS cards.
const MaxAttempts = 3

// Defaults for [InitOptions].
const (
	DefaultUID           = "555000111222"
	DefaultName          = "Test Clinician"
	DefaultLabel         = "NHS Smartcard"
	DefaultPINPadTimeout = 30 * time.Second
)

// Passcode lengths the module accepts (ulMinPinLen, ulMaxPinLen): NHS
// passcodes are 6–8 digits since 2023, and older ones could be 4 characters.
const (
	MinPINLen = 4
	MaxPINLen = 8
)

// pollInterval is how often PIN pad delivery looks for the module's prompt.
const pollInterval = 10 * time.Millisecond

var (
	uidPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	pinPattern   = regexp.MustCompile(`^[\x21-\x7e]{4,8}$`)
	labelPattern = regexp.MustCompile(`^[\x20-\x7e]{1,32}$`)
	namePattern  = regexp.MustCompile(`^[^\x00-\x1f\x7f]{0,128}$`)
)

// InitOptions describe a new card.
type InitOptions struct {
	UID            string        // 12-digit user id, the certificate's CN; default DefaultUID
	Name           string        // the holder's name, shown by Status; default DefaultName
	PIN            string        // the passcode, 4–8 printable ASCII characters; required
	PINPad         bool          // the reader has a PIN pad (CKF_PROTECTED_AUTHENTICATION_PATH)
	PINPadTimeout  time.Duration // how long a PIN pad login waits; default DefaultPINPadTimeout
	Label          string        // the token label, up to 32 characters; default DefaultLabel
	WriteProtected bool          // refuse read-write sessions (CKR_TOKEN_WRITE_PROTECTED)
	Force          bool          // replace a card already in the directory

	// The test PKI that issues the certificate: PKI if set, else the one
	// in PKIDir (made there if missing), else one in <dir>/pki.
	PKI    *testpki.PKI
	PKIDir string

	// User, if set, is put on the card as it is (its UID and Name win over
	// the fields above) instead of issuing a new key and certificate:
	// tests that make many cards save an RSA key generation per card.
	User *testpki.User
}

// SwapOptions describe the card put in by [Card.Swap]. The new card has a
// new serial and a new key; its certificate is for UID (default: the same
// user as before), issued by PKI if set, else by the PKI the card was made
// with.
type SwapOptions struct {
	UID  string
	Name string
	PKI  *testpki.PKI
	User *testpki.User // put this user's key and certificate on the new card instead
}

// Card is a virtual card directory.
type Card struct {
	dir string
}

// Status is a card's state as the module sees it.
type Status struct {
	Dir             string `json:"dir"`
	Present         bool   `json:"present"`
	UID             string `json:"uid"`
	Name            string `json:"name"`
	Serial          string `json:"serial"`
	Label           string `json:"label"`
	Generation      uint64 `json:"generation"` // changes at every removal, insertion and swap
	AttemptsLeft    int    `json:"attemptsLeft"`
	Locked          bool   `json:"locked"`
	PINPad          bool   `json:"pinPad"`
	PINPadTimeoutMS int64  `json:"pinPadTimeoutMs"`
	PINPadWaiting   bool   `json:"pinPadWaiting"` // a PIN pad login waits for an entry
	WriteProtected  bool   `json:"writeProtected"`
	Fault           *Fault `json:"fault,omitempty"`
}

// Init makes a card in dir (created if missing): a fresh RSA key, a user
// certificate for opts.UID from the test PKI, a random serial, the passcode,
// three attempts, inserted.
func Init(dir string, opts InitOptions) (*Card, error) {
	if opts.User != nil {
		opts.UID, opts.Name = opts.User.UID, opts.User.Name
	}
	if opts.UID == "" {
		opts.UID = DefaultUID
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Label == "" {
		opts.Label = DefaultLabel
	}
	if opts.PINPadTimeout == 0 {
		opts.PINPadTimeout = DefaultPINPadTimeout
	}
	switch {
	case !uidPattern.MatchString(opts.UID):
		return nil, fmt.Errorf("user id %q is not 12 digits", opts.UID)
	case !pinPattern.MatchString(opts.PIN):
		return nil, fmt.Errorf("passcode must be %d–%d printable characters without spaces (NHS: 6–8 digits)", MinPINLen, MaxPINLen)
	case !labelPattern.MatchString(opts.Label):
		return nil, fmt.Errorf("label %q must be 1–32 printable ASCII characters", opts.Label)
	case !namePattern.MatchString(opts.Name):
		return nil, fmt.Errorf("name must be at most 128 characters on one line")
	case opts.PINPadTimeout < 0 || opts.PINPadTimeout > time.Hour:
		return nil, fmt.Errorf("pin pad timeout %v must be between 0 and 1h", opts.PINPadTimeout)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	user, pkiDir := opts.User, ""
	if user == nil {
		var pki *testpki.PKI
		if pki, pkiDir, err = loadPKI(opts.PKI, opts.PKIDir, dir); err != nil {
			return nil, err
		}
		if user, err = pki.IssueUser(opts.UID, opts.Name); err != nil {
			return nil, err
		}
	} else if err := checkUser(user); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := readState(dir)
	if err == nil && !opts.Force {
		return nil, fmt.Errorf("%s already holds a card (%s); use --force to replace it", dir, old.get(kUID))
	}
	if err != nil && !errors.Is(err, errNoCard) && !opts.Force {
		return nil, err
	}
	s := newState()
	s.set(kVersion, "1")
	gen := uint64(1)
	if old != nil {
		gen = old.uint(kGeneration) + 1 // sessions on the old card must not survive
	}
	s.setUint(kGeneration, gen)
	s.setBool(kPresent, true)
	s.set(kPasscode, opts.PIN)
	s.setUint(kAttempts, MaxAttempts)
	s.setBool(kPINPad, opts.PINPad)
	s.setUint(kPINPadTimeoutMS, uint64(opts.PINPadTimeout.Milliseconds()))
	s.set(kLabel, opts.Label)
	s.setBool(kWriteProtected, opts.WriteProtected)
	s.set(kPKIDir, pkiDir)
	clearFault(s)
	for _, k := range []string{kPINPadSeq, kPINPadWaiting, kPINPadPID, kPINPadEntrySeq, kPINPadCancel} {
		s.setUint(k, 0)
	}
	s.set(kPINPadEntry, "")
	if err := putUser(dir, s, user); err != nil {
		return nil, err
	}
	return &Card{dir: dir}, nil
}

// loadPKI picks the PKI for Init: given, in pkiDir, or in <dir>/pki. It
// returns the directory to remember for Swap ("" for an in-memory PKI).
func loadPKI(pki *testpki.PKI, pkiDir, dir string) (*testpki.PKI, string, error) {
	if pki != nil {
		return pki, "", nil
	}
	if pkiDir == "" {
		pkiDir = filepath.Join(dir, "pki")
	}
	pkiDir, err := filepath.Abs(pkiDir)
	if err != nil {
		return nil, "", err
	}
	pki, err = testpki.LoadOrCreate(pkiDir)
	if err != nil {
		return nil, "", fmt.Errorf("test pki in %s: %w", pkiDir, err)
	}
	return pki, pkiDir, nil
}

// checkUser checks a caller's pre-issued user before it goes on a card.
func checkUser(u *testpki.User) error {
	switch {
	case u.Key == nil || u.Cert == nil:
		return fmt.Errorf("user %s has no key or certificate", u.UID)
	case !uidPattern.MatchString(u.UID):
		return fmt.Errorf("user id %q is not 12 digits", u.UID)
	case !namePattern.MatchString(u.Name):
		return fmt.Errorf("name must be at most 128 characters on one line")
	case !u.Key.PublicKey.Equal(u.Cert.PublicKey):
		return fmt.Errorf("user %s: the key does not match the certificate", u.UID)
	}
	return nil
}

// putUser writes a user's key and certificate as the card's, with a new
// serial and key id; the caller holds the exclusive lock and s is written.
func putUser(dir string, s *state, user *testpki.User) error {
	serial := make([]byte, 8)
	if _, err := rand.Read(serial); err != nil {
		return err
	}
	id := sha1.Sum(user.Key.N.Bytes()) // as OpenSC derives CKA_ID from the modulus
	s.set(kSerial, fmt.Sprintf("%X", serial))
	s.set(kKeyID, hex.EncodeToString(id[:]))
	s.set(kUID, user.UID)
	s.set(kName, user.Name)
	if err := writeFileAtomic(filepath.Join(dir, KeyFile), testpki.KeyPEM(user.Key)); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, CertFile), testpki.CertPEM(user.Cert)); err != nil {
		return err
	}
	return writeState(dir, s)
}

// Open opens the card in dir, made by [Init].
func Open(dir string) (*Card, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Card{dir: dir}
	if _, err := c.Status(); err != nil {
		return nil, err
	}
	return c, nil
}

// Dir returns the card's directory (absolute): the value for OIA_VCARD_DIR.
func (c *Card) Dir() string { return c.dir }

// Env returns "OIA_VCARD_DIR=<dir>", for a child process's environment.
func (c *Card) Env() string { return EnvDir + "=" + c.dir }

// update applies fn to the state under the exclusive lock and writes it.
func (c *Card) update(fn func(s *state) error) error {
	unlock, err := lockDir(c.dir, true)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := readState(c.dir)
	if err != nil {
		return err
	}
	if err := fn(s); err != nil {
		return err
	}
	return writeState(c.dir, s)
}

// Insert puts the card in the reader. Inserting a present card is a no-op.
func (c *Card) Insert() error {
	return c.update(func(s *state) error {
		if !s.bool(kPresent) {
			s.setBool(kPresent, true)
			s.setUint(kGeneration, s.uint(kGeneration)+1)
		}
		return nil
	})
}

// Remove takes the card out: sessions opened on it answer
// CKR_DEVICE_REMOVED, and the login is gone. Removing an absent card is a
// no-op.
func (c *Card) Remove() error {
	return c.update(func(s *state) error {
		if s.bool(kPresent) {
			s.setBool(kPresent, false)
			s.setUint(kGeneration, s.uint(kGeneration)+1)
		}
		return nil
	})
}

// Swap takes the card out and puts another in: a new serial and key, and a
// certificate for opts.UID (default the same user). The passcode, its
// attempts and the reader's PIN pad stay as they were.
func (c *Card) Swap(opts SwapOptions) error {
	if opts.User != nil {
		if err := checkUser(opts.User); err != nil {
			return err
		}
		return c.update(func(s *state) error {
			s.setBool(kPresent, true)
			s.setUint(kGeneration, s.uint(kGeneration)+1)
			return putUser(c.dir, s, opts.User)
		})
	}
	return c.update(func(s *state) error {
		if opts.UID == "" {
			opts.UID = s.get(kUID)
			if opts.Name == "" {
				opts.Name = s.get(kName)
			}
		}
		if opts.Name == "" {
			opts.Name = DefaultName
		}
		if !uidPattern.MatchString(opts.UID) {
			return fmt.Errorf("user id %q is not 12 digits", opts.UID)
		}
		if !namePattern.MatchString(opts.Name) {
			return fmt.Errorf("name must be at most 128 characters on one line")
		}
		pki := opts.PKI
		if pki == nil {
			if s.get(kPKIDir) == "" {
				return fmt.Errorf("this card was made with an in-memory pki; pass SwapOptions.PKI")
			}
			var err error
			if pki, err = testpki.Load(s.get(kPKIDir)); err != nil {
				return fmt.Errorf("test pki: %w", err)
			}
		}
		user, err := pki.IssueUser(opts.UID, opts.Name)
		if err != nil {
			return err
		}
		s.setBool(kPresent, true)
		s.setUint(kGeneration, s.uint(kGeneration)+1)
		return putUser(c.dir, s, user) // writes the state; update writes it again, unchanged
	})
}

// Lock locks the passcode, as three wrong entries would.
func (c *Card) Lock() error {
	return c.update(func(s *state) error { s.setUint(kAttempts, 0); return nil })
}

// Unlock unlocks the passcode and gives back all attempts, as the NHS
// self-service unlock does.
func (c *Card) Unlock() error {
	return c.update(func(s *state) error { s.setUint(kAttempts, MaxAttempts); return nil })
}

// SetPIN changes the passcode (attempts unchanged).
func (c *Card) SetPIN(pin string) error {
	if !pinPattern.MatchString(pin) {
		return fmt.Errorf("passcode must be %d–%d printable characters without spaces", MinPINLen, MaxPINLen)
	}
	return c.update(func(s *state) error { s.set(kPasscode, pin); return nil })
}

// SetPINPad gives the reader a PIN pad (or takes it away) and sets how long
// a PIN pad login waits for an entry; timeout 0 keeps the current one.
func (c *Card) SetPINPad(on bool, timeout time.Duration) error {
	if timeout < 0 || timeout > time.Hour {
		return fmt.Errorf("pin pad timeout %v must be between 0 and 1h", timeout)
	}
	return c.update(func(s *state) error {
		s.setBool(kPINPad, on)
		if timeout > 0 {
			s.setUint(kPINPadTimeoutMS, uint64(timeout.Milliseconds()))
		}
		return nil
	})
}

// SetFault makes the module fail the way f says (see [Fault]); it replaces
// any fault set before.
func (c *Card) SetFault(f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	return c.update(func(s *state) error {
		s.set(kFaultFunc, f.Function)
		s.set(kFaultRV, fmt.Sprintf("0x%x", f.RV))
		s.setBool(kFaultRemove, f.Remove)
		s.setBool(kFaultOnce, f.Once)
		return nil
	})
}

// ClearFault removes any fault.
func (c *Card) ClearFault() error {
	return c.update(func(s *state) error { clearFault(s); return nil })
}

func clearFault(s *state) {
	s.set(kFaultFunc, "")
	s.set(kFaultRV, "0x0")
	s.setBool(kFaultRemove, false)
	s.setBool(kFaultOnce, false)
}

// PINPadEnter types passcode on the PIN pad: it waits until a PIN pad login
// is waiting for an entry (or ctx ends), then delivers it. The module
// checks it as it checks any passcode, counting a wrong one.
func (c *Card) PINPadEnter(ctx context.Context, passcode string) error {
	if !pinPattern.MatchString(passcode) {
		return fmt.Errorf("passcode must be %d–%d printable characters without spaces", MinPINLen, MaxPINLen)
	}
	return c.pinPad(ctx, passcode, false)
}

// PINPadCancel presses Cancel on the PIN pad: the waiting login returns
// CKR_FUNCTION_CANCELED and no attempt is counted. It waits for a login as
// [Card.PINPadEnter] does.
func (c *Card) PINPadCancel(ctx context.Context) error {
	return c.pinPad(ctx, "", true)
}

func (c *Card) pinPad(ctx context.Context, entry string, cancel bool) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		delivered := false
		err := c.update(func(s *state) error {
			seq := s.uint(kPINPadWaiting)
			if !prompting(s) {
				return nil // no prompt yet, or it already has its entry
			}
			s.setUint(kPINPadEntrySeq, seq)
			s.set(kPINPadEntry, entry)
			s.setBool(kPINPadCancel, cancel)
			delivered = true
			return nil
		})
		if err != nil || delivered {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no pin pad login is waiting (%w); start the login first", ctx.Err())
		case <-t.C:
		}
	}
}

// prompting says whether a PIN pad login waits for an entry: the module
// has prompted, the prompt has no entry yet, and the process that prompted
// is still alive (a killed host leaves its prompt behind).
func prompting(s *state) bool {
	seq := s.uint(kPINPadWaiting)
	return seq != 0 && s.uint(kPINPadEntrySeq) != seq && processAlive(int(s.uint(kPINPadPID)))
}

// Status reads the card's state.
func (c *Card) Status() (Status, error) {
	unlock, err := lockDir(c.dir, false)
	if err != nil {
		return Status{}, err
	}
	defer unlock()
	s, err := readState(c.dir)
	if err != nil {
		return Status{}, err
	}
	st := Status{
		Dir:             c.dir,
		Present:         s.bool(kPresent),
		UID:             s.get(kUID),
		Name:            s.get(kName),
		Serial:          s.get(kSerial),
		Label:           s.get(kLabel),
		Generation:      s.uint(kGeneration),
		AttemptsLeft:    int(s.uint(kAttempts)),
		PINPad:          s.bool(kPINPad),
		PINPadTimeoutMS: int64(s.uint(kPINPadTimeoutMS)),
		WriteProtected:  s.bool(kWriteProtected),
	}
	st.Locked = st.AttemptsLeft == 0
	st.PINPadWaiting = prompting(s)
	if fn := s.get(kFaultFunc); fn != "" {
		st.Fault = &Fault{Function: fn, RV: uint(s.uint(kFaultRV)), Remove: s.bool(kFaultRemove), Once: s.bool(kFaultOnce)}
	}
	return st, nil
}

// Certificate returns the certificate of the card now in the reader (or
// last in it).
func (c *Card) Certificate() (*x509.Certificate, error) {
	unlock, err := lockDir(c.dir, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return testpki.ReadCert(filepath.Join(c.dir, CertFile))
}
