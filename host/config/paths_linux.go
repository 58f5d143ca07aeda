// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build linux

package config

import (
	"os"
	"path/filepath"
	"runtime"
)

func systemPath() string { return "/etc/oia/config.json" }

func userPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "oia", "config.json")
}

// defaultModules: OpenSC (series 9 PIV cards) where Debian, Ubuntu and
// Fedora put it, then the IDEMIA/Oberthur AWP middleware (series 8).
func defaultModules() []string {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu"}[runtime.GOARCH]
	mods := []string{}
	if triplet != "" {
		mods = append(mods, "/usr/lib/"+triplet+"/opensc-pkcs11.so")
	}
	return append(mods, "/usr/lib64/opensc-pkcs11.so", "/usr/local/AWP/lib/libOcsCryptoki.so")
}

func isAbs(p string) bool { return filepath.IsAbs(p) }
