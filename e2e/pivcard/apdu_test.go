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
