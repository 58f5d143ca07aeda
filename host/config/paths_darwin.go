// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build darwin

package config

import (
	"os"
	"path/filepath"
)

func systemPath() string { return "/Library/Application Support/OIA/config.json" }

func userPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, "Library", "Application Support", "OIA", "config.json")
}

func defaultModules() []string {
	return []string{"/Library/OpenSC/lib/opensc-pkcs11.so", "/Library/AWP/lib/libOcsCryptoki.dylib"}
}

func isAbs(p string) bool { return filepath.IsAbs(p) }
