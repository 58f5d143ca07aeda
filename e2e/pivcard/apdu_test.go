// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"bytes"
	"testing"
)

// TestRedact checks that no command carrying a passcode or PUK keeps its
// data in the record, and that every other command is kept whole.
func TestRedact(t *testing.T) {
	pin := []byte{'1', '2', '3', '4', '5', '6', 0xFF, 0xFF}
	apdu := func(ins byte, data []byte) []byte {
		return append([]byte{0x00, ins, 0x00, 0x80, byte(len(data))}, data...)
	}
	getData := []byte{0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05}
	for _, tc := range []struct {
		name string
		cmd  []byte
		want []byte
		why  string
	}{
		{"verify", apdu(0x20, pin), []byte{0x00, 0x20, 0x00, 0x80, 8}, "the passcode"},
		{"change reference data", apdu(0x24, append(pin, pin...)), []byte{0x00, 0x24, 0x00, 0x80, 16}, "the old and the new passcode"},
		{"reset retry counter", apdu(0x2C, append(pin, pin...)), []byte{0x00, 0x2C, 0x00, 0x80, 16}, "the PUK and a new passcode"},
		{"verify without data", []byte{0x00, 0x20, 0x00, 0x80}, []byte{0x00, 0x20, 0x00, 0x80}, "reads the counter: nothing to hide"},
		{"get data", getData, getData, "kept whole for the trace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact(tc.cmd); !bytes.Equal(got, tc.want) {
				t.Errorf("redact(% X) = % X, want % X (%s)", tc.cmd, got, tc.want, tc.why)
			}
		})
	}
}

// TestParseCommand covers the four ISO 7816-4 cases in short and extended
// form, and the malformed lengths.
func TestParseCommand(t *testing.T) {
	hdr := []byte{0x00, 0xCB, 0x3F, 0xFF}
	with := func(b ...byte) []byte { return append(append([]byte{}, hdr...), b...) }
	for _, tc := range []struct {
		name string
		apdu []byte
		data []byte
		ne   int
		bad  bool
	}{
		{name: "case 1: header only", apdu: with()},
		{name: "case 2 short", apdu: with(0x10), ne: 16},
		{name: "case 2 short, Le 00 is 256", apdu: with(0x00), ne: 256},
		{name: "case 3 short", apdu: with(0x02, 0xAA, 0xBB), data: []byte{0xAA, 0xBB}},
		{name: "case 4 short, Le 00 is 256", apdu: with(0x01, 0xAA, 0x00), data: []byte{0xAA}, ne: 256},
		{name: "case 2 extended", apdu: with(0x00, 0x01, 0x00), ne: 256},
		{name: "case 2 extended, Le 0000 is 65536", apdu: with(0x00, 0x00, 0x00), ne: 65536},
		{name: "case 3 extended", apdu: with(0x00, 0x00, 0x01, 0xAA), data: []byte{0xAA}},
		{name: "case 4 extended", apdu: with(0x00, 0x00, 0x01, 0xAA, 0x02, 0x00), data: []byte{0xAA}, ne: 512},
		{name: "shorter than a header", apdu: []byte{0x00, 0xCB, 0x3F}, bad: true},
		{name: "short Lc longer than the data", apdu: with(0x03, 0xAA), bad: true},
		{name: "extended Lc of zero", apdu: with(0x00, 0x00, 0x00, 0xAA), bad: true},
		{name: "extended data and a one-byte Le", apdu: with(0x00, 0x00, 0x01, 0xAA, 0x00), bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand(tc.apdu)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseCommand(% X) = %+v, want an error", tc.apdu, c)
				}
				return
			}
			if err != nil || !bytes.Equal(c.Data, tc.data) || c.Ne != tc.ne || c.INS != 0xCB {
				t.Errorf("ParseCommand(% X) = %+v, %v; want data % X, Ne %d", tc.apdu, c, err, tc.data, tc.ne)
			}
		})
	}
}
