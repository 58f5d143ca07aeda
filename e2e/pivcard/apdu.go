// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// MaxAPDU bounds a command APDU the card accepts (an extended APDU with
// 64 KiB of data and Le). vpcd frames carry at most 65535 bytes.
const MaxAPDU = 4 + 3 + 65535 + 3

// Command is a parsed ISO/IEC 7816-4 command APDU, short or extended.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	// Ne is the number of response bytes the reader expects: 0 when the
	// command carries no Le, 256 (or 65536) for Le = 00 (or 0000).
	Ne int
}

var errBadAPDU = errors.New("pivcard: malformed APDU")

// ParseCommand decodes a command APDU in any of the four ISO cases, with
// short or extended lengths.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 || len(b) > MaxAPDU {
		return Command{}, errBadAPDU
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2 short
		c.Ne = ne(body)
	case body[0] != 0: // case 3 or 4 short
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.Ne = ne(body[1+lc:])
		default:
			return Command{}, errBadAPDU
		}
		c.Data = body[1 : 1+lc]
	case len(body) == 3: // case 2 extended
		c.Ne = ne(body[1:])
	default: // case 3 or 4 extended
		if len(body) < 3 {
			return Command{}, errBadAPDU
		}
		lc := int(body[1])<<8 | int(body[2])
		if lc == 0 {
			return Command{}, errBadAPDU
		}
		switch len(body) {
		case 3 + lc:
		case 5 + lc:
			c.Ne = ne(body[3+lc:])
		default:
			return Command{}, errBadAPDU
		}
		c.Data = body[3 : 3+lc]
	}
	return c, nil
}

// ne decodes an Le field of one byte (00 means 256) or two (0000 means
// 65536).
func ne(le []byte) int {
	n := 0
	for _, b := range le {
		n = n<<8 | int(b)
	}
	if n == 0 {
		return 1 << (8 * len(le))
	}
	return n
}

// Status words the card answers with (SP 800-73-4 Part 2, ISO 7816-4).
const (
	SWOK               = 0x9000
	SWWrongLength      = 0x6700
	SWSecurityStatus   = 0x6982 // the key needs the PIN first
	SWBlocked          = 0x6983 // the PIN is blocked
	SWWrongData        = 0x6A80
	SWNotFound         = 0x6A82 // no such application or data object
	SWRefNotFound      = 0x6A88 // no such key or PIN reference
	SWIncorrectP1P2    = 0x6A86
	SWInsNotSupported  = 0x6D00
	SWClaNotSupported  = 0x6E00
	SWChainUnsupported = 0x6884
	SWNoPrecise        = 0x6F00
)

// Record is one APDU the card received and its answer, for tests. The
// data of a command that carries a passcode or PUK is never kept.
type Record struct {
	// Seq counts APDUs from 1 over the reader's life.
	Seq int
	// Command is the APDU as received; for VERIFY, CHANGE REFERENCE DATA
	// and RESET RETRY COUNTER only the header and Lc (the data's length).
	Command []byte
	// SW is the status word answered.
	SW uint16
	// RespLen is how many data bytes went with SW.
	RespLen int
}

// INS returns the instruction byte.
func (r Record) INS() byte {
	if len(r.Command) < 2 {
		return 0
	}
	return r.Command[1]
}

// String shows the record as `seq > command < len SW`.
func (r Record) String() string {
	return fmt.Sprintf("%4d > %s < %d bytes %04X", r.Seq, hex.EncodeToString(r.Command), r.RespLen, r.SW)
}

// redact returns cmd with the data of the commands that carry a passcode
// or PUK removed (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER): only
// the header and Lc stay.
func redact(cmd []byte) []byte {
	if len(cmd) > 5 && (cmd[1] == insVerify || cmd[1] == 0x24 || cmd[1] == 0x2C) {
		return append([]byte{}, cmd[:5]...)
	}
	return append([]byte{}, cmd...)
}
