// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
	"github.com/openidentityagent/oia/host/protocol"
)

// MaxPINLength bounds the passcodes Login passes to a card. NHS passcodes
// are 4 to 8 characters.
const MaxPINLength = 64

// maxObjects bounds how many certificate objects Identity reads.
const maxObjects = 32

// Session is a read-only PKCS#11 session on one card. Its methods are safe
// for concurrent use (they are serialised); they return CARD_REMOVED once
// the card is gone, swapped for another, or the module was re-initialised.
type Session struct {
	mod   *Module
	gen   uint64
	token Token

	mu       sync.Mutex
	sh       pkcs11.SessionHandle
	closed   bool
	loggedIn bool
	identity *Identity
	mechs    map[uint]bool // read once, on the first Signer
}

// OpenSession opens a read-only session on the token t, which must come
// from [Module.Tokens] or a [Watcher] event of a module that is open. It
// fails with CARD_REMOVED when another card is now in t's slot.
func OpenSession(t Token) (*Session, error) {
	m, err := moduleFor(t.ModulePath)
	if err != nil {
		return nil, err
	}
	gen := m.generation()
	if m.needsReinit() {
		// A session on a module that lost its device would die at the
		// watcher's next re-initialisation: re-initialise first.
		_, _, _ = m.recover(gen)
		gen = m.generation()
	}
	now, err := m.token(gen, t.Slot)
	if err != nil {
		return nil, err
	}
	if now == nil || !now.sameCard(t) {
		return nil, protocol.Wrap(protocol.CodeCardRemoved, fmt.Errorf("slot %d no longer holds %v", t.Slot, t))
	}
	s := &Session{mod: m, gen: gen, token: t}
	// Read-only: write-protected cards refuse read-write sessions, and
	// nothing here writes.
	err = m.call(gen, opOpenSession, func(p p11) (err error) {
		s.sh, err = p.OpenSession(t.Slot, pkcs11.CKF_SERIAL_SESSION)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Stale reports whether the session's module was re-initialised since it
// opened, which invalidates it: every call on it would fail with
// CARD_REMOVED. It asks the card nothing.
func (s *Session) Stale() bool { return s.gen != s.mod.generation() }

// Token returns the card the session is on.
func (s *Session) Token() Token { return s.token }

// do runs f under the session lock, against the session's module
// generation; it refuses a closed session.
func (s *Session) do(op string, f func(p p11) error) error {
	if s.closed {
		return protocol.Wrap(protocol.CodeInvalidState, fmt.Errorf("%s on a closed session", op))
	}
	return s.mod.call(s.gen, op, f)
}

// Close closes the session. It is safe to call more than once, and after
// the card was removed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.do(opCloseSession, func(p p11) error { return p.CloseSession(s.sh) })
	s.closed = true
	s.loggedIn = false
	if protocol.CodeOf(err) == protocol.CodeCardRemoved {
		return nil // nothing left to close
	}
	return err
}

// PINStatus reads the card's passcode state. It fails with CARD_REMOVED
// when the card is gone or another card took its place.
func (s *Session) PINStatus() (PINStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pinStatus()
}

func (s *Session) pinStatus() (PINStatus, error) {
	var ti pkcs11.TokenInfo
	err := s.do(opGetTokenInfo, func(p p11) (err error) {
		ti, err = p.GetTokenInfo(s.token.Slot)
		return err
	})
	if err != nil {
		return PINStatus{}, err
	}
	if ti.SerialNumber != s.token.Serial || ti.Label != s.token.Label {
		return PINStatus{}, protocol.Wrap(protocol.CodeCardRemoved, fmt.Errorf("slot %d now holds %q serial %q, not %v", s.token.Slot, ti.Label, ti.SerialNumber, s.token))
	}
	return pinStatusFrom(ti), nil
}

// Login logs the user in with pin, making exactly one C_Login call (never
// retried: three wrong passcodes lock an NHS card). On a PIN pad reader
// (PINStatus.PINPad) pin is ignored and the reader's keypad is used; the
// call then blocks until the user finishes or cancels (USER_ABORT).
//
// Before the call it reads the passcode state: a locked card gives
// PIN_LOCKED and a passcode the card cannot take (empty, too long, a NUL,
// outside the token's lengths) gives PIN_INVALID, both without calling
// C_Login. After a failed call it reads the state again and attaches it to
// the error ([PINStatusOf]): PIN_INCORRECT says how many attempts are left
// and becomes PIN_LOCKED when that wrong passcode locked the card. A card
// that is already logged in is a success.
func (s *Session) Login(pin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := s.pinStatus()
	if err != nil {
		return err
	}
	if before.Locked {
		return loginError(protocol.CodePINLocked, before, nil)
	}
	if before.PINPad {
		pin = "" // miekg passes "" as NULL: the reader asks for the passcode
	} else if err := CheckPIN(pin, before); err != nil {
		return loginError(protocol.CodePINInvalid, before, err)
	}
	err = s.do(opLogin, func(p p11) error { return p.Login(s.sh, pkcs11.CKU_USER, pin) })
	if err == nil {
		s.loggedIn = true
		return nil
	}
	code := protocol.CodeOf(err)
	after, serr := s.pinStatus()
	if serr != nil {
		// Removed during the attempt: no state to show; removal wins.
		if code == protocol.CodeCardRemoved || protocol.CodeOf(serr) == protocol.CodeCardRemoved {
			return protocol.Wrap(protocol.CodeCardRemoved, err)
		}
		after = before
	}
	if code == protocol.CodeCardRemoved {
		return err
	}
	if code == protocol.CodePINIncorrect && serr == nil && before.AttemptsLeft == 3 && after.AttemptsLeft == 3 {
		// The card counted the attempt, but no counter flag came up:
		// OpenSC sets CKF_USER_PIN_COUNT_LOW only when it knows the card's
		// maximum, which a PIV card does not report (it still sets
		// FINAL_TRY and LOCKED from the card's 63Cx). The attempt this
		// call made used one. Only from "no flag": a module whose
		// COUNT_LOW stays up after each failure (SoftHSM) must not be
		// counted down past what its flags say.
		after.AttemptsLeft = 2
	}
	var cause error = err
	if pe, ok := err.(*protocol.Error); ok {
		cause = pe.Err // keep the CK_RV, not a second code
	}
	return loginError(code, after, cause)
}

// CheckPIN refuses passcodes that must not reach C_Login: the module would
// count some of them as a wrong attempt, and a NUL would cut the C string.
// st is the card's passcode state, for its length bounds. The error says
// neither the passcode nor its length (it may be logged), only the rule.
func CheckPIN(pin string, st PINStatus) error {
	switch {
	case pin == "":
		return fmt.Errorf("the passcode is empty")
	case len(pin) > MaxPINLength:
		return fmt.Errorf("the passcode is longer than %d characters", MaxPINLength)
	case strings.IndexByte(pin, 0) >= 0:
		return fmt.Errorf("the passcode contains a NUL character")
	case st.MaxLen > 0 && (len(pin) < st.MinLen || len(pin) > st.MaxLen):
		return fmt.Errorf("this card takes a passcode of %d to %d characters", st.MinLen, st.MaxLen)
	}
	return nil
}

// Logout logs the user out of the card (every session of this process on
// it: PKCS#11 login state is per token). Logging out of a card that is gone
// or not logged in is not an error.
func (s *Session) Logout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loggedIn = false
	err := s.do(opLogout, func(p p11) error { return p.Logout(s.sh) })
	switch {
	case err == nil, rvOf(err) == pkcs11.CKR_USER_NOT_LOGGED_IN, protocol.CodeOf(err) == protocol.CodeCardRemoved:
		return nil
	}
	return err
}

// Identity returns the cardholder's login certificate and user id; it
// needs no login. See the package doc for how the certificate is chosen.
// The result is read once per session.
func (s *Session) Identity() (Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadIdentity()
}

func (s *Session) loadIdentity() (Identity, error) {
	if s.identity != nil {
		return *s.identity, nil
	}
	handles, err := s.find([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
	}, maxObjects)
	if err != nil {
		return Identity{}, err
	}
	var found []Identity
	var skipped []string
	for _, h := range handles {
		var attrs []*pkcs11.Attribute
		err := s.do(opGetAttribute, func(p p11) (err error) {
			attrs, err = p.GetAttributeValue(s.sh, h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
				pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
			})
			return err
		})
		if err != nil {
			return Identity{}, err
		}
		label := string(attrs[2].Value)
		cert, err := parseCert(attrs[0].Value)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%q: %v", label, err))
			continue
		}
		if !isLoginCert(cert) {
			continue
		}
		found = append(found, Identity{UID: cert.Subject.CommonName, Cert: cert, KeyID: attrs[1].Value, Label: label})
	}
	switch len(found) {
	case 0:
		if len(skipped) > 0 {
			return Identity{}, protocol.Wrap(protocol.CodeNoCertFound, fmt.Errorf("no usable login certificate on %v; unreadable: %s", s.token, strings.Join(skipped, "; ")))
		}
		return Identity{}, protocol.Wrap(protocol.CodeNoCertFound, fmt.Errorf("no login certificate on %v", s.token))
	case 1:
		s.identity = &found[0]
		return found[0], nil
	}
	labels := make([]string, len(found))
	for i, f := range found {
		labels[i] = fmt.Sprintf("%q (CN %s)", f.Label, f.UID)
	}
	return Identity{}, protocol.Wrap(protocol.CodeCardAmbiguous, fmt.Errorf("%v holds %d login certificates: %s", s.token, len(found), strings.Join(labels, ", ")))
}

// isLoginCert reports whether cert can be the login certificate: an RSA
// end-entity certificate whose key may sign (digitalSignature, or no key
// usage extension), and which is not restricted to uses other than client
// authentication.
func isLoginCert(cert *x509.Certificate) bool {
	if cert.PublicKeyAlgorithm != x509.RSA || cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign != 0 {
		return false
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return false
	}
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// parseCert parses a certificate from CKA_VALUE, which some tokens pad
// with zeros or 0xFF after the DER.
func parseCert(v []byte) (*x509.Certificate, error) {
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(v, &raw); err != nil {
		return nil, fmt.Errorf("CKA_VALUE is not DER: %w", err)
	}
	return x509.ParseCertificate(raw.FullBytes)
}

// find returns up to max objects matching tmpl.
func (s *Session) find(tmpl []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	var hs []pkcs11.ObjectHandle
	err := s.do(opFindObjects, func(p p11) error {
		if err := p.FindObjectsInit(s.sh, tmpl); err != nil {
			return err
		}
		var err error
		hs, _, err = p.FindObjects(s.sh, max)
		if ferr := p.FindObjectsFinal(s.sh); err == nil {
			err = ferr
		}
		return err
	})
	return hs, err
}
