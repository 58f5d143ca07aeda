// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !linux && !windows

package agent

// machineID is unknown here (macOS would read IOPlatformUUID): the broker
// client then makes a device id per agent process.
func machineID() string { return "" }
