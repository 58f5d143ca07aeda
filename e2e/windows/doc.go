// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package windows tests the Windows builds of oia-host, oia and the Ticket
// API DLL under Wine (e2e/wine): the relay over real pipes, the stdout
// takeover, registration in the registry for Chrome, Edge and Firefox, the
// Windows configuration and log paths, the agent's named pipe and its
// security, and the DLL loaded by a legacy-style client against the agent.
// The tests are in the package's test files; docs/installer.md ("Tested
// under Wine") says what they check and where Wine differs from Windows.
package windows
