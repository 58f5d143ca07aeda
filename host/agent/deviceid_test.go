// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package agent

import (
	"regexp"
	"testing"
)

func TestDeviceIDOf(t *testing.T) {
	hex8 := regexp.MustCompile(`^[0-9a-f]{8}$`)
	a := deviceIDOf("4c4c4544004a3010804bb4c04f423432\n")
	tests := []struct {
		name, in string
		want     func(string) bool
	}{
		{"a machine id gives 8 hex digits, as the broker's device_id starts", "4c4c4544004a3010804bb4c04f423432", hex8.MatchString},
		{"the same machine gives the same id (surrounding space ignored)", " 4c4c4544004a3010804bb4c04f423432 ", func(s string) bool { return s == a }},
		{"another machine another id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", func(s string) bool { return hex8.MatchString(s) && s != a }},
		{"not the machine id itself", "4c4c4544", func(s string) bool { return s != "4c4c4544" }},
		{"no machine id: none (the broker client makes one)", "  ", func(s string) bool { return s == "" }},
	}
	for _, tt := range tests {
		if got := deviceIDOf(tt.in); !tt.want(got) {
			t.Errorf("%s: deviceIDOf(%q) = %q", tt.name, tt.in, got)
		}
	}
}
