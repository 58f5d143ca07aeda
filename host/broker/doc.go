// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package broker is the client of the NHS Spine Security Broker (SSB, "GAS"):
// the legacy CIS1 smartcard login protocol described in docs/broker.md.
//
// [Environments] and [ResolveBaseURL] turn the configured environment name
// or explicit URL into the broker's base URL.
package broker
