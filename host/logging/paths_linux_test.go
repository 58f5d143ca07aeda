// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import "testing"

// TestDefaultPath sets environment variables, so it does not run in
// parallel.
func TestDefaultPath(t *testing.T) {
	cases := []struct {
		name, home, xdg, want string
	}{
		// The XDG default.
		{"unset", "/home/u", "", "/home/u/.local/state/oia/host.log"},
		// XDG_STATE_HOME moves the state folder.
		{"set", "/home/u", "/var/state/u", "/var/state/u/oia/host.log"},
		// The spec says a relative value is invalid and must be ignored.
		{"relative", "/home/u", "state", "/home/u/.local/state/oia/host.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("HOME", c.home)
			t.Setenv("XDG_STATE_HOME", c.xdg)
			got, err := DefaultPath()
			if err != nil || got != c.want {
				t.Errorf("DefaultPath() = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	t.Run("no home", func(t *testing.T) {
		// Without a home folder there is no per-user path: New falls back.
		t.Setenv("HOME", "")
		t.Setenv("XDG_STATE_HOME", "")
		if got, err := DefaultPath(); err == nil {
			t.Errorf("DefaultPath() = %q without HOME, want an error", got)
		}
	})
}
