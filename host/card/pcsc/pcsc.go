// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package pcsc watches smartcard readers through the PC/SC resource
// manager (pcsc-lite's pcscd on Linux) without sending the card anything:
// SCardGetStatusChange blocks until a reader's state differs from the one
// the caller knows, and the event counter that pcsc-lite keeps in the high
// 16 bits of a reader's state changes on every insertion and removal, so a
// card pulled and put back (or swapped) between two looks is still seen.
//
// On Linux the client library (libpcsclite.so.1) is loaded at run time
// with dlopen, so nothing is needed to build and a computer without it
// simply has no PC/SC ([ErrUnavailable]): the caller then polls its
// PKCS#11 modules instead. On other systems, and in builds without cgo,
// [Establish] always returns ErrUnavailable.
package pcsc

import (
	"errors"
	"fmt"
)

// ErrUnavailable wraps every reason PC/SC cannot be used here: no client
// library, no pcscd running, or a build for a system this package does not
// cover yet.
var ErrUnavailable = errors.New("pcsc: no PC/SC service")

// ErrCanceled is returned by a wait that [Context.Cancel] ended.
var ErrCanceled = errors.New("pcsc: wait canceled")

// ErrTimeout is returned by a wait that timed out with no change.
var ErrTimeout = errors.New("pcsc: no change before the timeout")

// ErrUnknownReader is returned by a wait when one of its readers is gone
// (unplugged): list the readers again.
var ErrUnknownReader = errors.New("pcsc: a reader is no longer attached")

// PnP is the pseudo reader whose state changes when a reader is attached
// or detached (pcsc-lite and Windows both name it so).
const PnP = `\\?PnP?\Notification`

// State is a reader's state as SCardGetStatusChange reports it
// (dwEventState): flags in the low 16 bits and, with pcsc-lite, a count of
// card insertions and removals in the high 16 bits.
type State uint32

// The state flags (pcsc-lite PCSC/pcsclite.h, the same values as Windows).
const (
	Unaware     State = 0x0000
	Ignore      State = 0x0001
	Changed     State = 0x0002
	Unknown     State = 0x0004
	Unavailable State = 0x0008
	Empty       State = 0x0010
	Present     State = 0x0020
	Exclusive   State = 0x0080
	InUse       State = 0x0100
	Mute        State = 0x0200
)

// Present reports whether a card is in the reader.
func (s State) Present() bool { return s&Present != 0 }

// Events is pcsc-lite's count of card insertions and removals in the
// reader, modulo 2^16 (0 on systems that do not count).
func (s State) Events() uint16 { return uint16(s >> 16) }

// String shows the flags and the count, for logs.
func (s State) String() string {
	return fmt.Sprintf("%#x (events %d)", uint32(s&0xFFFF), s.Events())
}

// ReaderState is one reader in a wait: the state the caller knows
// (Current) and, after the wait, the state the reader is in (Event).
type ReaderState struct {
	Reader  string
	Current State
	Event   State
}

// Error is a PC/SC call that failed with a code the package does not map
// to one of its errors.
type Error struct {
	Op   string
	Code uint32
}

func (e *Error) Error() string {
	return fmt.Sprintf("pcsc: %s: error %#08x: is pcscd running? see 'oia doctor'", e.Op, e.Code)
}

// The return codes the package maps (pcsc-lite PCSC/pcsclite.h).
const (
	codeSuccess            = 0x00000000
	codeCanceled           = 0x80100002
	codeUnknownReader      = 0x80100009
	codeTimeout            = 0x8010000A
	codeNoService          = 0x8010001D
	codeServiceStopped     = 0x8010001E
	codeNoReaders          = 0x8010002E
	codeInsufficientBuffer = 0x80100008
	codeReaderUnavailable  = 0x80100017
)

// errorOf maps a PC/SC return code of op to this package's errors.
func errorOf(op string, code uint32) error {
	switch code {
	case codeSuccess:
		return nil
	case codeCanceled:
		return ErrCanceled
	case codeTimeout:
		return ErrTimeout
	case codeUnknownReader, codeReaderUnavailable:
		return ErrUnknownReader
	case codeNoService, codeServiceStopped:
		return fmt.Errorf("%w: %s: pcscd is not running (or stopped): start it, or its socket activation", ErrUnavailable, op)
	}
	return &Error{Op: op, Code: code}
}
