// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
	"github.com/openidentityagent/oia/host/protocol"
)

// Names of the PKCS#11 operations, for [Code] and the log.
const (
	opGetSlotList      = "C_GetSlotList"
	opGetTokenInfo     = "C_GetTokenInfo"
	opGetSlotInfo      = "C_GetSlotInfo"
	opGetMechanismList = "C_GetMechanismList"
	opOpenSession      = "C_OpenSession"
	opCloseSession     = "C_CloseSession"
	opLogin            = "C_Login"
	opLogout           = "C_Logout"
	opFindObjects      = "C_FindObjects"
	opGetAttribute     = "C_GetAttributeValue"
	opSignInit         = "C_SignInit"
	opSign             = "C_Sign"
)

// Code returns the protocol code for a PKCS#11 return value rv from the
// operation op (a C function name such as "C_Login").
//
// Removal is read widely, because modules disagree on how a vanished card
// looks: CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_TOKEN_NOT_RECOGNIZED,
// CKR_SLOT_ID_INVALID (the reader went too), CKR_DEVICE_ERROR (p11-kit-client
// after its server died), stale handles (CKR_SESSION_HANDLE_INVALID,
// CKR_SESSION_CLOSED, CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID:
// SoftHSM after the token was deleted), CKR_CRYPTOKI_NOT_INITIALIZED (the
// module was re-initialised) and CKR_GENERAL_ERROR from C_GetTokenInfo
// (SoftHSM again). Passcode codes map to the PIN_ codes; a cancelled PIN pad
// entry is USER_ABORT; everything else is CARD_ERROR. CKR_OK and
// CKR_USER_ALREADY_LOGGED_IN are not errors and give "".
func Code(op string, rv pkcs11.Error) protocol.Code {
	switch rv {
	case pkcs11.CKR_OK, pkcs11.CKR_USER_ALREADY_LOGGED_IN:
		return ""
	case pkcs11.CKR_PIN_INCORRECT:
		return protocol.CodePINIncorrect
	case pkcs11.CKR_PIN_LOCKED:
		return protocol.CodePINLocked
	case pkcs11.CKR_PIN_EXPIRED:
		return protocol.CodePINExpired
	case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID:
		return protocol.CodePINInvalid
	case pkcs11.CKR_FUNCTION_CANCELED, pkcs11.CKR_CANCEL:
		return protocol.CodeUserAbort
	case pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_SLOT_ID_INVALID, pkcs11.CKR_DEVICE_ERROR,
		pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID,
		pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return protocol.CodeCardRemoved
	case pkcs11.CKR_GENERAL_ERROR:
		if op == opGetTokenInfo {
			return protocol.CodeCardRemoved
		}
	}
	return protocol.CodeCardError
}

// moduleLost reports whether rv from op means the module itself needs
// re-initialising before it can see tokens again.
func moduleLost(op string, rv pkcs11.Error) bool {
	switch rv {
	case pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return true
	case pkcs11.CKR_GENERAL_ERROR:
		return op == opGetTokenInfo || op == opGetSlotList
	}
	return false
}

// wrap turns an error from the PKCS#11 call op into a *protocol.Error,
// keeping the CK_RV in the cause for the log. Errors that already carry a
// code pass through.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return err
	}
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return protocol.Wrap(protocol.CodeCardError, fmt.Errorf("%s: %w", op, err))
	}
	code := Code(op, rv)
	if code == "" {
		return nil
	}
	return protocol.Wrap(code, fmt.Errorf("%s: %w", op, rv))
}

// rvOf returns the CK_RV inside err, or 0 (CKR_OK) when there is none.
func rvOf(err error) pkcs11.Error {
	var rv pkcs11.Error
	if errors.As(err, &rv) {
		return rv
	}
	return 0
}

// LoginError is the cause of a failed [Session.Login]: the passcode state
// read after the attempt, and the module's error (nil when Login refused
// without calling the module). It never holds the passcode.
type LoginError struct {
	Status PINStatus
	Err    error
}

func (e *LoginError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("login refused: %d attempts left", e.Status.AttemptsLeft)
	}
	return fmt.Sprintf("login: %v (%d attempts left)", e.Err, e.Status.AttemptsLeft)
}

// Unwrap returns the module's error.
func (e *LoginError) Unwrap() error { return e.Err }

// PINStatusOf returns the passcode state attached to an error from
// [Session.Login], and false when err carries none (the card was removed
// before the state could be read, or err is not from Login).
func PINStatusOf(err error) (PINStatus, bool) {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Status, true
	}
	return PINStatus{}, false
}

// loginError builds the error for a failed login with status read after it.
func loginError(code protocol.Code, st PINStatus, cause error) error {
	msg, _ := code.Info()
	text := msg.Message
	switch code {
	case protocol.CodePINIncorrect:
		switch st.AttemptsLeft {
		case 1:
			text = "the passcode is wrong: one more wrong passcode will lock the card"
		case 0:
			code = protocol.CodePINLocked
			text = protocol.New(protocol.CodePINLocked).Message
		default:
			text = fmt.Sprintf("the passcode is wrong: %d attempts left", st.AttemptsLeft)
		}
	}
	return &protocol.Error{Code: code, Message: text, Err: &LoginError{Status: st, Err: cause}}
}
