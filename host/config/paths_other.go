// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !linux && !darwin && !windows

package config

import (
	"os"
	"path/filepath"
)

func systemPath() string { return "/etc/oia/config.json" }

func userPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "oia", "config.json")
}

func defaultModules() []string { return []string{"/usr/local/lib/opensc-pkcs11.so"} }

func isAbs(p string) bool { return filepath.IsAbs(p) }
