// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package register

// defaultRegistry is nil: only Windows finds host manifests through the
// registry.
func defaultRegistry() Registry { return nil }
