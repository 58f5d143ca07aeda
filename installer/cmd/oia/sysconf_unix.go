// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package main

import (
	"fmt"
	"os"
)

// secureConfigDir creates dir, the system configuration's folder, owned by
// root (when running as root) and writable by its owner alone (0755), and
// fixes an existing one that others could write.
func secureConfigDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(dir, 0, 0); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o755)
}
