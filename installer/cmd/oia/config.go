// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"os"
	"path/filepath"

	"github.com/openidentityagent/oia/host/config"
)

// configPaths returns the configuration files that apply: both for a
// per-user registration, only the system file for a system-wide one (a
// user's file must not decide what every user's browsers allow). root, when
// set, prefixes the system file's path (unless OIA_SYSTEM_CONFIG named it).
func configPaths(system bool, root string) config.Paths {
	p := config.DefaultPaths()
	if root != "" && os.Getenv("OIA_SYSTEM_CONFIG") == "" {
		p.System = filepath.Join(root, p.System)
		p.TrustUser = !config.Release() // a staging root the user built
	}
	if system {
		p.User = ""
	}
	return p
}

// extensionIDs returns the ids to write into the manifests: the flag's,
// else the configuration's allowedExtensions.
func extensionIDs(flagIDs []string, system bool, root string) ([]string, error) {
	if len(flagIDs) > 0 {
		return flagIDs, nil
	}
	c, err := config.Load(configPaths(system, root))
	if err != nil {
		return nil, err
	}
	return c.AllowedExtensions, nil
}
