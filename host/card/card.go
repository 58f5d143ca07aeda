// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package card talks to NHS smartcards through their PKCS#11 middleware: it
// loads modules, lists tokens, reads the cardholder's identity, logs in with
// the passcode, signs with the card's key and watches cards come and go.
//
// # Modules
//
// [Open] loads a PKCS#11 module (a shared library) and initialises it once
// per process: a second Open of the same path returns the same [*Module] and
// [Module.Close] finalises it when the last user closes it. A module that
// cannot be loaded gives a [protocol.Error] with code MODULE_LOAD_FAILED
// whose cause names the path and says why (missing file, not a library for
// this computer, no C_GetFunctionList, C_Initialize failed).
//
// # Identity
//
// Certificates are public objects, so [Session.Identity] works before login
// (the passcode prompt shows whose card it is). The login certificate is the
// one X.509 certificate on the token with an RSA key that may sign
// (key usage digitalSignature, or none) and that is not a CA; its user id is
// the subject CN (12 digits on NHS cards, reported as found otherwise). Two
// such certificates give CARD_AMBIGUOUS; none gives NO_CERT_FOUND. After
// login, [Session.Signer] finds the private key with the certificate's
// CKA_ID (NO_KEY_FOUND when there is none).
//
// # Passcodes
//
// [Session.PINStatus] reads the token flags into a [PINStatus];
// [Session.Login] reads them before the attempt (a locked card is refused
// without calling C_Login), makes exactly one C_Login and reads them again,
// attaching the result to its error ([PINStatusOf]). A login is never
// retried. The passcode is passed straight to C_Login: it is never kept,
// logged, or put in an error.
//
// # Removal
//
// Any call that fails with a removal code (CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR, stale session or object handles,
// …; see [Code]) returns CARD_REMOVED. A [Watcher] reports [Inserted],
// [Removed] and [Swapped]. It learns of changes to modules on PC/SC readers
// (OpenSC) from PC/SC itself, which sends the card nothing, and polls the
// other modules (docs/card.md, "Presence without card commands"); it
// re-initialises a module
// whose calls fail with device errors (a p11-kit remote that went away, a
// SoftHSM token deleted underneath), because such modules only see tokens
// again after C_Finalize and C_Initialize. Re-initialising invalidates every
// session of that module: their calls then return CARD_REMOVED without
// reaching the module.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Calls into a module may
// run concurrently (modules are initialised with CKF_OS_LOCKING_OK; a module
// that answers CKR_CANT_LOCK is initialised without it and every call to it
// is serialised). A [Session] serialises its own calls with a mutex, so a
// [Signer] and the Session it came from may be used from different
// goroutines. Calls that talk to the card (Login, Sign, and Login on a PIN
// pad, which waits for the keypad) can block for seconds: run them on a
// worker goroutine and report the result to the state machine as a trigger.
// Re-initialisation by the watcher never waits for such a call: it is tried
// again on the next poll.
package card

import (
	"crypto/x509"
	"fmt"

	"github.com/miekg/pkcs11"
)

// Token is a token (an inserted card) as listed by a module. A token is
// known by its module and slot; Serial tells one card from another in the
// same slot.
type Token struct {
	ModulePath   string
	Slot         uint
	Label        string
	Serial       string
	Manufacturer string
	Model        string
}

// String names the token for logs: label, serial and slot.
func (t Token) String() string {
	return fmt.Sprintf("%q serial %q (slot %d)", t.Label, t.Serial, t.Slot)
}

// sameCard reports whether t and u describe the same physical card.
func (t Token) sameCard(u Token) bool {
	return t.Serial == u.Serial && t.Label == u.Label && t.Manufacturer == u.Manufacturer && t.Model == u.Model
}

// Identity is the cardholder as the login certificate describes them.
type Identity struct {
	// UID is the subject CN of the certificate: the 12-digit NHS user id on
	// genuine cards, reported as found on others (see ValidUID).
	UID string
	// Cert is the login (authentication) certificate.
	Cert *x509.Certificate
	// KeyID is the certificate's CKA_ID, which pairs it with its private key.
	KeyID []byte
	// Label is the certificate object's CKA_LABEL.
	Label string
}

// ValidUID reports whether UID is 12 digits, as on every NHS card.
func (id Identity) ValidUID() bool {
	if len(id.UID) != 12 {
		return false
	}
	for _, c := range id.UID {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PINStatus is the passcode state of a token, from its PKCS#11 flags
// (docs/protocol.md §3.5).
type PINStatus struct {
	// AttemptsLeft is 3 with no warning flag, 2 after a wrong passcode
	// (CKF_USER_PIN_COUNT_LOW), 1 on the final try (CKF_USER_PIN_FINAL_TRY)
	// and 0 when locked (CKF_USER_PIN_LOCKED). PKCS#11 has no counter; these
	// are the NHS card's three tries read through the flags.
	AttemptsLeft int
	// FinalTry is true when one more wrong passcode locks the card.
	FinalTry bool
	// Locked is true when the card refuses every passcode.
	Locked bool
	// PINPad is true when the reader has its own keypad
	// (CKF_PROTECTED_AUTHENTICATION_PATH): Login then takes no passcode.
	PINPad bool
	// ToBeChanged is true when the passcode is the initial one or has
	// expired (CKF_USER_PIN_TO_BE_CHANGED).
	ToBeChanged bool
	// MinLen and MaxLen are the passcode lengths the token accepts, or 0
	// when the token does not say sensibly.
	MinLen, MaxLen int
}

// maxSanePINLen is the largest MaxLen taken from a token; tokens report
// CK_UNAVAILABLE_INFORMATION or huge values when they have no limit.
const maxSanePINLen = 64

// pinStatusFrom decodes token flags and lengths.
func pinStatusFrom(ti pkcs11.TokenInfo) PINStatus {
	f := ti.Flags
	st := PINStatus{
		AttemptsLeft: 3,
		PINPad:       f&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH != 0,
		ToBeChanged:  f&pkcs11.CKF_USER_PIN_TO_BE_CHANGED != 0,
	}
	switch {
	case f&pkcs11.CKF_USER_PIN_LOCKED != 0:
		st.AttemptsLeft, st.Locked = 0, true
	case f&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
		st.AttemptsLeft, st.FinalTry = 1, true
	case f&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
		st.AttemptsLeft = 2
	}
	if ti.MaxPinLen > 0 && ti.MaxPinLen <= maxSanePINLen && ti.MinPinLen <= ti.MaxPinLen {
		st.MinLen, st.MaxLen = int(ti.MinPinLen), int(ti.MaxPinLen)
	}
	return st
}
