// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// deviceIDOf turns the machine's identifier into the 8 hexadecimal digits
// that start the broker's device_id (docs/broker.md): the same on every
// login from this machine, as one Identity Agent install's would be, and
// not the identifier itself, which other software uses. "" when the
// machine has none; the broker client then makes one per process.
func deviceIDOf(machineID string) string {
	machineID = strings.TrimSpace(machineID)
	if machineID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("oia broker device_id\x00" + machineID))
	return hex.EncodeToString(sum[:4])
}
