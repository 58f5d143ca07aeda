// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !windows

package doctor

import "github.com/openidentityagent/oia/installer/register"

// defaultPolicyReader reads policy files. On macOS the table lists no
// policy locations (profiles live in managed preferences), so nothing is
// read there.
func defaultPolicyReader(register.Options) PolicyReader { return filePolicyReader{} }
