// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"path/filepath"
	"testing"
)

// BenchmarkEntry measures one typical entry: scrubbing, formatting and the
// write to a real file.
func BenchmarkEntry(b *testing.B) {
	log, closer, err := New(Options{Path: filepath.Join(b.TempDir(), "host.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	for b.Loop() {
		log.WithField("state", "awaitingPIN").WithField("origin", "https://portal.spineservices.nhs.uk").Info("login state changed after the card was inserted")
	}
}

// BenchmarkRedact measures the text scrubbing of a typical message.
func BenchmarkRedact(b *testing.B) {
	for b.Loop() {
		Redact("login state changed after the card was inserted into the reader OMNIKEY 3121 slot 0")
	}
}
