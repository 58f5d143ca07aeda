// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package ticketapi holds the legacy Ticket API library for desktop
// applications: C sources (no Go runtime is loaded into the applications'
// processes) built by mk/ticketapi.mk into libTicketApi.so and, with
// mingw-w64, TicketApiDll.dll for x86 and x64. The package's Go code is its
// tests: they build the library through the same make rules, with ASan and
// UBSan, and drive a C client linked with it against a fake agent that
// speaks the agent endpoint protocol. docs/ticket-api.md describes the
// library for application vendors and IT.
package ticketapi
