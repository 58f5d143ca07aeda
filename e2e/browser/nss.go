// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
)

// NSSNickname is the name the test root gets in an NSS database.
const NSSNickname = "OIA Test Root"

// TrustRoot makes (if needed) the NSS database in dir and adds the PEM root
// certificate in rootPEM as a trusted authority for TLS servers ("C,,").
// Chromium on Linux reads $HOME/.pki/nssdb; Firefox reads the profile
// directory. It needs certutil (Debian package libnss3-tools).
func TrustRoot(ctx context.Context, dir, rootPEM string) error {
	if _, err := exec.LookPath("certutil"); err != nil {
		return fmt.Errorf("%w: certutil not found (install the Debian package libnss3-tools: scripts/deps.sh)", ErrNotInstalled)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	db := "sql:" + dir
	if _, err := os.Stat(dir + "/cert9.db"); err != nil {
		if err := certutil(ctx, "-N", "-d", db, "--empty-password"); err != nil {
			return err
		}
	}
	return certutil(ctx, "-A", "-d", db, "-n", NSSNickname, "-t", "C,,", "-i", rootPEM)
}

func certutil(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "certutil", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("browser: certutil %s: %v: %s", args[0], err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
