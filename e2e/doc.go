// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package e2e holds the end-to-end scenarios: a clinician's login in real
// browsers (Chromium and Firefox ESR) with the real extension, oia-host,
// the virtual smartcard, the broker simulator and the sample NHS web app.
// The scenarios are in the package's tests; docs/e2e.md describes them.
//
// Its subpackages are the parts the scenarios use: browser (the harness),
// sampleapp, brokersim, vcard and testpki.
package e2e
