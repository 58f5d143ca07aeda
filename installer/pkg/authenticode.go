// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pkg

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SignOptions name the Authenticode signing material: PEM files given at
// build time (WIN_SIGN_CERT, WIN_SIGN_KEY).
type SignOptions struct {
	// Cert is the code-signing certificate chain (PEM).
	Cert string
	// Key is its private key (PEM, unencrypted).
	Key string
	// Time is the signing time written into the signature, so that signing
	// is reproducible; the zero value means now.
	Time time.Time
}

// SignExe Authenticode-signs a Windows executable with osslsigncode
// (SHA-256), writing the signed file to out.
func SignExe(ctx context.Context, o SignOptions, in, out string) error {
	args := []string{"sign", "-certs", o.Cert, "-key", o.Key, "-h", "sha256",
		"-n", "Open Identity Agent", "-i", "https://openidentityagent.org"}
	if !o.Time.IsZero() {
		args = append(args, "-time", strconv.FormatInt(o.Time.Unix(), 10))
	}
	args = append(args, "-in", in, "-out", out)
	return osslsigncode(ctx, args...)
}

// VerifyExe checks a signed executable's Authenticode signature against
// the CA certificates in caFile.
func VerifyExe(ctx context.Context, path, caFile string) error {
	return osslsigncode(ctx, "verify", "-CAfile", caFile, "-in", path)
}

func osslsigncode(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "osslsigncode", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("osslsigncode %s: %v: %s", args[0], err, msg)
	}
	return nil
}
