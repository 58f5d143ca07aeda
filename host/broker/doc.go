// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package broker is the client of the NHS Spine Security Broker (SSB, "GAS"):
// the legacy CIS1 smartcard login protocol described in docs/broker.md.
//
// [Environments] and [ResolveBaseURL] turn the configured environment name
// or explicit URL into the broker's base URL, and [New] makes a [Client].
//
// # The flow
//
// [Client.Activate] posts the gpOBJECT activation document and returns a
// [Challenge]. The caller signs Challenge.Data on the smartcard, makes the
// CMS SignedData and wraps it (host/cms), and passes it to
// [Client.Validate], which returns a [Session] holding the SSO ticket and the
// user's roles. [Client.SelectRole] picks a role, [Client.RoleAssertion]
// reads the session back as the broker sees it, and [Client.Logout] ends it.
//
// The broker's answers are not well-formed XML (role names hold bare &), so
// [ParseDocument] and [ParseAssertion] read them with a bounded, tolerant
// scanner.
//
// # Errors
//
// Every error a call returns is an [*Error]: it records the operation and a
// [Kind] for the log and unwraps to a *protocol.Error, so protocol.CodeOf
// gives the code to send to the extension (SERVER_COMM_FAILED,
// AUTHENTICATION_FAILED, ROLE_SELECTION_FAILED, SESSION_EXPIRED, …).
//
// # Secrets
//
// Tickets, challenges, server signatures and signed responses never appear
// in error text or String output. The [Options].Log hook sees operation
// names, HTTP status codes, field names and sizes only.
//
// # Concurrency
//
// A [Client] is safe for concurrent use by several goroutines. A [Challenge]
// can be validated once.
package broker
