// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package config

import (
	"fmt"
	"path/filepath"

	"github.com/openidentityagent/oia/host/protocol"
)

// A file decides whom the host trusts only if nobody but an administrator
// can change it. The rule, for the file and every folder above it (after
// symbolic links are resolved):
//
//   - an administrator owns it (root, or SYSTEM, Administrators or
//     TrustedInstaller on Windows);
//   - no one else may write it, change its permissions or owner, or delete
//     or rename what is in it. A folder others may only add to (a sticky
//     folder such as /tmp; C:\ProgramData, where users may create folders)
//     is accepted, because what is already in it stays the owner's.
//
// checkComponent is the per-OS part: it says what is wrong with one path,
// or "" when nothing is. leaf is true for the file itself; private asks,
// for a user file, that nobody but its owner may read it either.

// checkOptions tune the rule for one file.
type checkOptions struct {
	// trustUser also accepts the current user as an owner: a user file,
	// or a system file a development build was pointed at.
	trustUser bool
	// private refuses a file others may read (a user file carrying
	// security keys).
	private bool
}

// unsafeError is the CONFIG_UNSAFE error for path.
func unsafeError(path, problem, hint string) error {
	return protocol.Errorf(protocol.CodeConfigUnsafe, "config: %s: %s; %s", path, problem, hint)
}

// checkFile applies the rule to path and each folder above it. It returns
// nil when path may be trusted.
func checkFile(path string, o checkOptions, check func(path string, leaf bool, o checkOptions) (string, error)) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("config: %s: %w", path, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", fmt.Errorf("config: %s: %w", path, err)
	}
	leaf := true
	for p := real; ; p = filepath.Dir(p) {
		problem, err := check(p, leaf, o)
		if err != nil {
			return "", fmt.Errorf("config: %s: %w", p, err)
		}
		if problem != "" {
			if p == real {
				return fmt.Sprintf("the file %s", problem), nil
			}
			return fmt.Sprintf("the folder %s above it %s", p, problem), nil
		}
		leaf = false
		if filepath.Dir(p) == p {
			return "", nil
		}
	}
}

// SystemPath is this OS's system configuration file, whatever
// OIA_SYSTEM_CONFIG says: where installers create its folder.
func SystemPath() string { return systemPath() }

// AdminOnly says why path, or a folder above it, could be changed by
// someone other than an administrator, or "" when it cannot: the rule the
// host applies to its system file, for installers to apply to what they
// register (oia install --system and oia-host). trustUser also accepts the
// current user as an owner (a staging root in tests).
func AdminOnly(path string, trustUser bool) (string, error) {
	return checkFile(path, checkOptions{trustUser: trustUser}, checkPath)
}
