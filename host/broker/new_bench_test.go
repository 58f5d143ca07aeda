// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker_test

import (
	"net/url"
	"testing"

	"github.com/openidentityagent/oia/host/broker"
)

// BenchmarkNew is what oia-host pays for its broker client before it can
// say hello: the system trust store must not be loaded here (it takes
// about 20 ms; the client loads it in the background).
func BenchmarkNew(b *testing.B) {
	base, _ := url.Parse("https://127.0.0.1:1")
	for b.Loop() {
		if _, err := broker.New(broker.Options{BaseURL: base}); err != nil {
			b.Fatal(err)
		}
	}
}
