// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pcsc

import "strings"

// splitMulti splits a PC/SC multi-string (names each ended by a NUL, the
// list ended by an empty one).
func splitMulti(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
