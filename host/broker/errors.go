// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"fmt"

	"github.com/openidentityagent/oia/host/protocol"
)

// Kind classifies a broker failure for the log and for retry decisions. The
// protocol code (what the page sees) is carried separately, by the
// *protocol.Error an [*Error] unwraps to.
type Kind int

// The kinds of failure.
const (
	// KindTransport: the connection could not be made, was reset, or the
	// body ended early.
	KindTransport Kind = iota + 1
	// KindTimeout: the call's deadline passed before the broker answered.
	KindTimeout
	// KindCanceled: the caller's context was cancelled.
	KindCanceled
	// KindTLS: the broker's certificate could not be verified.
	KindTLS
	// KindStatus: the broker answered with an HTTP status other than 2xx.
	KindStatus
	// KindTooLarge: the answer was larger than [MaxBodySize].
	KindTooLarge
	// KindMalformed: the answer was not the document expected (garbage,
	// truncated, a required field missing or invalid).
	KindMalformed
	// KindRefused: the broker understood and said no: a login refused, a
	// role refused, a dead ticket.
	KindRefused
	// KindURL: the broker pointed the client at a URL it will not follow
	// (not https, or another host).
	KindURL
	// KindUsage: the caller broke the API's rules (a reused challenge, an
	// argument out of bounds). A bug in OIA, never the broker's doing.
	KindUsage
)

var kindNames = map[Kind]string{
	KindTransport: "transport",
	KindTimeout:   "timeout",
	KindCanceled:  "canceled",
	KindTLS:       "tls",
	KindStatus:    "http status",
	KindTooLarge:  "too large",
	KindMalformed: "malformed",
	KindRefused:   "refused",
	KindURL:       "url",
	KindUsage:     "usage",
}

// String returns the kind's name, as written in logs.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error every [Client] call returns. It unwraps to a
// *protocol.Error, so protocol.CodeOf(err) gives the code to report, and
// through that to the cause (a net error, a [*MissingFieldError], …).
//
// Its text names the operation, the kind, the HTTP status and the cause; it
// never holds a ticket, a challenge or a signature.
type Error struct {
	// Op is the broker operation: "activate", "validate", "roleselect",
	// "roleassertion" or "logout".
	Op string
	// Kind classifies the failure.
	Kind Kind
	// Status is the HTTP status code, when an answer arrived.
	Status int
	// Err is the *protocol.Error carrying the code and the cause.
	Err *protocol.Error
}

// Error returns "broker <op>: <kind>[ (http <status>)]: <cause>".
func (e *Error) Error() string {
	s := "broker " + e.Op + ": " + e.Kind.String()
	if e.Status != 0 {
		s += fmt.Sprintf(" (http %d)", e.Status)
	}
	if e.Err != nil && e.Err.Err != nil {
		s += ": " + e.Err.Err.Error()
	} else if e.Err != nil {
		s += ": " + e.Err.Message
	}
	return s
}

// Unwrap returns the *protocol.Error.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the protocol code of e.
func (e *Error) Code() protocol.Code {
	if e.Err == nil {
		return protocol.CodeInternal
	}
	return e.Err.Code
}

// newError builds an *Error whose protocol error has code's default message
// (safe for pages) and cause as its Err (for the log).
func newError(op string, kind Kind, status int, code protocol.Code, cause error) *Error {
	return &Error{Op: op, Kind: kind, Status: status, Err: protocol.Wrap(code, cause)}
}

// MissingFieldError reports that a broker answer lacked a field the client
// needs. It is the cause inside an [*Error] of kind [KindMalformed] (or
// [KindRefused] for a validate answer without sso_ticket).
type MissingFieldError struct {
	// Field is the gpPARAM name (or SAML attribute name) that was missing.
	Field string
}

// Error returns "the broker's answer has no <field> field".
func (e *MissingFieldError) Error() string {
	return fmt.Sprintf("the broker's answer has no %s field", e.Field)
}

// InvalidFieldError reports that a field of a broker answer was present but
// unusable (a challenge that is not base64, a reply_url on another host).
// Reason never quotes the value of a secret field.
type InvalidFieldError struct {
	// Field is the gpPARAM name of the invalid field.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error returns "the broker's <field> field is invalid: <reason>".
func (e *InvalidFieldError) Error() string {
	return fmt.Sprintf("the broker's %s field is invalid: %s", e.Field, e.Reason)
}
