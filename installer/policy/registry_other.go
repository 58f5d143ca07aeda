// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !windows

package policy

import "errors"

var errNotWindows = errors.New("the managed settings go into the Windows registry, and this is not Windows; use oia policy to write this OS's policy files")

// SetManaged writes the values of mk into the Windows registry; elsewhere
// it fails.
func SetManaged(mk []ManagedKey) error { return errNotWindows }

// RemoveManaged deletes the keys of mk from the Windows registry;
// elsewhere it fails.
func RemoveManaged(mk []ManagedKey) error { return errNotWindows }
