// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package oia holds what the whole project shares at its root: the one
// version number that every binary, the extension and the packages carry.
//
// The code lives in the folders below: host/ (the native-messaging host),
// installer/ (the oia command), e2e/ (the virtual card, the broker simulator
// and the browser tests) and extension/ (the WebExtension).
package oia

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var rawVersion string

// Version is the project's version, read from the VERSION file at the
// repository root: the one source for the host, the oia command, the
// extension manifests and the packages.
var Version = strings.TrimSpace(rawVersion)
