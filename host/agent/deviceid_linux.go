// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package agent

import "os"

// machineID is systemd's /etc/machine-id, or D-Bus's copy where that is
// missing (containers); "" when neither is readable.
func machineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(b) <= 256 {
			return string(b)
		}
	}
	return ""
}
