// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package rig sets up what a login needs in tests: the broker simulator
// over TLS, a virtual smartcard whose certificate chains to the
// simulator's test PKI, and a host configuration pointing at both. Tests of
// oia-host, `oia login`, the load and fault tests and the browser tests use
// it, so they all log in against the same set-up.
package rig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// PIN is the virtual card's passcode.
const PIN = "123456"

// Rig is a running broker simulator and a virtual card.
type Rig struct {
	Sim  *brokersim.Server
	Card *vcard.Card
	// Config is the host configuration (the keys of host/config): the
	// virtual card's module, the simulator's URL and CA, a fast card poll
	// and a log file in a temporary folder. Tests may change it before
	// calling Env.
	Config map[string]any
	t      testing.TB
}

// New starts a simulator (stopped when the test ends) with opts, and makes
// an inserted virtual card for its default user.
func New(t testing.TB, opts brokersim.Options) *Rig {
	t.Helper()
	if opts.AdminAddr == "" {
		opts.AdminAddr = "off"
	}
	sim, err := brokersim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := vcard.Init(t.TempDir(), vcard.InitOptions{PIN: PIN, PKI: sim.PKI()})
	if err != nil {
		t.Fatal(err)
	}
	return &Rig{
		Sim:  sim,
		Card: c,
		Config: map[string]any{
			"pkcs11Modules":        []string{vcard.ModulePath(t)},
			"brokerURL":            sim.URL(),
			"caBundle":             sim.CAFile(),
			"cardPollMilliseconds": 100,
			"logLevel":             "debug",
			"logFile":              filepath.Join(t.TempDir(), "host.log"),
		},
		t: t,
	}
}

// LogFile returns the host log file the configuration names.
func (r *Rig) LogFile() string { return r.Config["logFile"].(string) }

// Env writes the configuration to a file and returns the environment a
// host needs to use it: OIA_CONFIG, an OIA_SYSTEM_CONFIG that does not
// exist (so the machine's own configuration stays out), and OIA_VCARD_DIR.
func (r *Rig) Env() []string {
	r.t.Helper()
	b, err := json.Marshal(r.Config)
	if err != nil {
		r.t.Fatal(err)
	}
	dir := r.t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		r.t.Fatal(err)
	}
	return []string{"OIA_CONFIG=" + path, "OIA_SYSTEM_CONFIG=" + filepath.Join(dir, "no-system-config.json"), r.Card.Env()}
}
