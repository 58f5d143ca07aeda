// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !linux

package pivcard

// quickAck does nothing: the stack runs on Linux only.
func quickAck(fd uintptr) {}
