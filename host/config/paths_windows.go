// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package config

import (
	"os"
	"path/filepath"
)

func systemPath() string {
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "OIA", "config.json")
}

func userPath() string {
	dir, err := os.UserConfigDir() // %APPDATA%
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "OIA", "config.json")
}

func defaultModules() []string {
	sys := os.Getenv("SystemRoot")
	if sys == "" {
		sys = `C:\Windows`
	}
	return []string{filepath.Join(sys, "System32", "opensc-pkcs11.dll"), filepath.Join(sys, "System32", "OcsCryptoki.dll")}
}

func isAbs(p string) bool { return filepath.IsAbs(p) }
