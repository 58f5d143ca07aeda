// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"context"
	"fmt"
	"strings"
)

// SecurityDescriptor returns the owner and DACL of a file, folder or named
// pipe (e.g. `\\.\pipe\name`) as SDDL, read inside the prefix with
// GetSecurityInfo. Opening a pipe takes one of its instances, as a
// client's open does.
func (p *Prefix) SecurityDescriptor(ctx context.Context, winPath string) (string, error) {
	r, err := p.Run(ctx, p.sd, RunOptions{Args: []string{"get", winPath}})
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("wine: read the security of %s: %s", winPath, strings.TrimSpace(r.Stderr))
	}
	return strings.TrimSpace(r.Stdout), nil
}

// SetSecurityDescriptor sets the owner and a protected DACL of a file or
// folder from SDDL with SetNamedSecurityInfo. Wine keeps the DACL but
// reports a file's owner from its Unix owner whatever is set.
func (p *Prefix) SetSecurityDescriptor(ctx context.Context, winPath, sddl string) error {
	r, err := p.Run(ctx, p.sd, RunOptions{Args: []string{"set", winPath, sddl}})
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("wine: set the security of %s: %s", winPath, strings.TrimSpace(r.Stderr))
	}
	return nil
}
