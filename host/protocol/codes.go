// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package protocol

import (
	"errors"
	"fmt"
)

// Code is a stable error code, shared by the host, the extension and the page
// library. Codes are append-only: never rename, renumber or reuse one. The
// table in docs/protocol.md §4 documents each, and
// extension/src/shared/protocol.ts mirrors them (a test compares the two).
type Code string

// The error codes. Keep this list in the order of docs/protocol.md §4 and
// only ever append to it.
const (
	CodeInternal             Code = "INTERNAL"
	CodeBadRequest           Code = "BAD_REQUEST"
	CodeBusy                 Code = "BUSY"
	CodeServerCommFailed     Code = "SERVER_COMM_FAILED"
	CodeTicketNotAvailable   Code = "TICKET_NOT_AVAILABLE"
	CodeNotImplemented       Code = "NOT_IMPLEMENTED"
	CodeConfigInvalid        Code = "CONFIG_INVALID"
	CodeHostNotFound         Code = "HOST_NOT_FOUND"
	CodeHostVersionMismatch  Code = "HOST_VERSION_MISMATCH"
	CodeCardNotPresent       Code = "CARD_NOT_PRESENT"
	CodeCardRemoved          Code = "CARD_REMOVED"
	CodePINLocked            Code = "PIN_LOCKED"
	CodeNoCertFound          Code = "NO_CERT_FOUND"
	CodeNoKeyFound           Code = "NO_KEY_FOUND"
	CodeCardAmbiguous        Code = "CARD_AMBIGUOUS"
	CodeModuleLoadFailed     Code = "MODULE_LOAD_FAILED"
	CodeCardError            Code = "CARD_ERROR"
	CodePINIncorrect         Code = "PIN_INCORRECT"
	CodePINExpired           Code = "PIN_EXPIRED"
	CodePINInvalid           Code = "PIN_INVALID"
	CodeUserAbort            Code = "USER_ABORT"
	CodeAuthenticationFailed Code = "AUTHENTICATION_FAILED"
	CodeRoleSelectionFailed  Code = "ROLE_SELECTION_FAILED"
	CodeTimeout              Code = "TIMEOUT"
	CodeSessionExpired       Code = "SESSION_EXPIRED"
	CodeOriginNotAllowed     Code = "ORIGIN_NOT_ALLOWED"
	CodeExtensionNotAllowed  Code = "EXTENSION_NOT_ALLOWED"
	CodeFrameTooLarge        Code = "FRAME_TOO_LARGE"
	CodeInvalidState         Code = "INVALID_STATE"
	CodeNoExtension          Code = "NO_EXTENSION"
	CodeRateLimited          Code = "RATE_LIMITED"
	CodeHostExited           Code = "HOST_EXITED"
	CodeConfigUnsafe         Code = "CONFIG_UNSAFE"
	CodeAgentUnavailable     Code = "AGENT_UNAVAILABLE"
	CodeAgentVersionMismatch Code = "AGENT_VERSION_MISMATCH"
	CodeTicketAPIDisabled    Code = "TICKET_API_DISABLED"
	CodePromptUnavailable    Code = "PROMPT_UNAVAILABLE"
)

// Legacy Ticket API error groups (TCK_ERR_GRP_* in ticket_api.h).
const (
	legacyGeneric = 0x80100000
	legacyCard    = 0x80200000
	legacyAuth    = 0x80400000
	legacyConfig  = 0x80800000
)

// CodeInfo describes one error code: its legacy Ticket API number (0 when the
// legacy API had no faithful equivalent) and a default message.
type CodeInfo struct {
	Code    Code
	Legacy  uint32
	Message string
}

// Codes lists every error code in the order of docs/protocol.md §4.
var Codes = []CodeInfo{
	{CodeInternal, legacyGeneric | 0x01, "internal error in open identity agent: see the host log"},
	{CodeBadRequest, legacyGeneric | 0x03, "the request was malformed"},
	{CodeBusy, legacyGeneric | 0x06, "too many requests are waiting: try again shortly"},
	{CodeServerCommFailed, legacyGeneric | 0x07, "the spine security broker could not be reached: check the network and try again"},
	{CodeTicketNotAvailable, legacyGeneric | 0x09, "nobody is logged in with a smartcard"},
	{CodeNotImplemented, legacyGeneric | 0x0B, "this build does not support the request"},
	{CodeConfigInvalid, 0, "the configuration is invalid: run 'oia doctor'"},
	{CodeHostNotFound, legacyConfig | 0x02, "open identity agent is not installed or not registered for this browser: run 'oia doctor'"},
	{CodeHostVersionMismatch, legacyConfig | 0x01, "the extension and oia-host versions do not match: update both"},
	{CodeCardNotPresent, 0, "no smartcard is in the reader: insert your card"},
	{CodeCardRemoved, legacyCard | 0x05, "the smartcard was removed: insert it and try again"},
	{CodePINLocked, legacyCard | 0x04, "the smartcard is locked after three wrong passcodes: unlock it with NHS self-service or your registration authority"},
	{CodeNoCertFound, legacyCard | 0x06, "the smartcard holds no authentication certificate: contact your registration authority"},
	{CodeNoKeyFound, legacyCard | 0x07, "the smartcard holds no key for its certificate: contact your registration authority"},
	{CodeCardAmbiguous, legacyCard | 0x03, "the smartcard holds more than one authentication certificate: contact your registration authority"},
	{CodeModuleLoadFailed, legacyCard | 0x01, "the smartcard middleware could not be loaded: run 'oia doctor'"},
	{CodeCardError, legacyCard | 0x05, "the smartcard or reader failed: remove the card, insert it and try again"},
	{CodePINIncorrect, 0, "the passcode is wrong"},
	{CodePINExpired, 0, "the passcode has expired: change it before logging in"},
	{CodePINInvalid, legacyAuth | 0x06, "the passcode has the wrong form"},
	{CodeUserAbort, legacyAuth | 0x01, "the login was cancelled"},
	{CodeAuthenticationFailed, legacyAuth | 0x02, "the spine security broker refused the login"},
	{CodeRoleSelectionFailed, 0, "the spine security broker refused the chosen role"},
	{CodeTimeout, 0, "nobody answered in time"},
	{CodeSessionExpired, 0, "the smartcard session has expired: log in again"},
	{CodeOriginNotAllowed, 0, "this site is not allowed to use smartcard login"},
	{CodeExtensionNotAllowed, 0, "this browser extension is not allowed to use oia-host"},
	{CodeFrameTooLarge, 0, "the message is too large"},
	{CodeInvalidState, 0, "the request does not fit the current state"},
	{CodeNoExtension, legacyConfig | 0x02, "the open identity agent extension is not installed, or this site is not allowed"},
	{CodeRateLimited, legacyGeneric | 0x06, "too many requests: slow down"},
	{CodeHostExited, 0, "oia-host stopped during the request: try again"},
	{CodeConfigUnsafe, 0, "the system configuration can be changed by users who are not administrators, so it is ignored: run 'oia doctor'"},
	{CodeAgentUnavailable, legacyConfig | 0x03, "the open identity agent could not be started or reached: run 'oia doctor'"},
	{CodeAgentVersionMismatch, legacyConfig | 0x01, "the running open identity agent is of another version: log out, or remove the card, and try again"},
	{CodeTicketAPIDisabled, legacyConfig | 0x02, "desktop applications may not use smartcard login on this computer: IT turns it on with ticketApiEnabled"},
	{CodePromptUnavailable, legacyAuth | 0x03, "a passcode is needed and no browser with open identity agent is open to ask for it: open the browser and try again"},
}

// nearestLegacy gives a number to the codes the legacy API had no faithful
// equivalent for, for clients of the Ticket API, which know only numbers
// (docs/ticket-api.md lists them).
var nearestLegacy = map[Code]uint32{
	CodeConfigInvalid:       legacyConfig | 0x04,
	CodeConfigUnsafe:        legacyConfig | 0x04,
	CodeCardNotPresent:      legacyCard | 0x02,
	CodePINIncorrect:        legacyAuth | 0x02,
	CodePINExpired:          legacyAuth | 0x02,
	CodeRoleSelectionFailed: legacyAuth | 0x02,
	CodeTimeout:             legacyAuth | 0x01,
	CodeSessionExpired:      legacyGeneric | 0x09,
	CodeInvalidState:        legacyGeneric | 0x01,
	CodeHostExited:          legacyConfig | 0x03,
}

// NearestLegacy returns the legacy number of c, or for a code with none the
// nearest one, so that a Ticket API client always gets a number; unknown
// codes are INTERNAL's.
func (c Code) NearestLegacy() uint32 {
	if n := c.Legacy(); n != 0 {
		return n
	}
	if n, ok := nearestLegacy[c]; ok {
		return n
	}
	return legacyGeneric | 0x01
}

var codeIndex = func() map[Code]CodeInfo {
	m := make(map[Code]CodeInfo, len(Codes))
	for _, c := range Codes {
		m[c.Code] = c
	}
	return m
}()

// Info returns the description of c, and false when c is not a known code.
func (c Code) Info() (CodeInfo, bool) {
	i, ok := codeIndex[c]
	return i, ok
}

// Legacy returns the legacy Ticket API number of c, or 0 when there is none.
func (c Code) Legacy() uint32 { return codeIndex[c].Legacy }

// Error is an error with a stable protocol code. Its Message is safe to show
// to a page: it never holds a passcode, a ticket or a file path.
type Error struct {
	Code    Code
	Message string
	// Err is the underlying cause, for logs only; it never reaches a page.
	Err error
}

// Errorf returns an *Error with code and a formatted message. A %w verb
// in format records the cause (for the log) without changing the message.
func Errorf(code Code, format string, args ...any) *Error {
	e := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: e.Error(), Err: errors.Unwrap(e)}
}

// New returns an *Error with code and the code's default message.
func New(code Code) *Error {
	return &Error{Code: code, Message: codeIndex[code].Message}
}

// Wrap returns an *Error with code and the code's default message, recording
// err as the cause.
func Wrap(code Code, err error) *Error {
	return &Error{Code: code, Message: codeIndex[code].Message, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil && e.Err.Error() != e.Message {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the protocol code carried by err (through any wrapping), or
// CodeInternal when err carries none.
func CodeOf(err error) Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}

// ErrorBody is the JSON form of an error on the wire, in both the page and
// the native protocol.
type ErrorBody struct {
	Code       Code   `json:"code"`
	LegacyCode uint32 `json:"legacyCode,omitempty"`
	Message    string `json:"message"`
}

// BodyOf turns any error into its wire form. Errors without a code become
// INTERNAL with the default message, so that no internal detail (a path, a
// library's text) reaches a page.
func BodyOf(err error) *ErrorBody {
	var pe *Error
	if !errors.As(err, &pe) {
		pe = New(CodeInternal)
	}
	msg := pe.Message
	if msg == "" {
		msg = codeIndex[pe.Code].Message
	}
	return &ErrorBody{Code: pe.Code, LegacyCode: pe.Code.Legacy(), Message: msg}
}
