// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package rig sets up what a login needs, for tests, benchmarks and the
// demo: the broker simulator over TLS, a virtual smartcard whose
// certificate chains to the simulator's test PKI, and a host configuration
// pointing at both. The oia-host and `oia login` tests, the load and fault
// tests, the benchmark and the browser tests all log in against it.
//
// The test PKI and each card holder's key are made once per process
// ([SharedPKI], [SharedUser]): RSA key generation is slow under the race
// detector, and nothing depends on keys being fresh.
package rig

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// The default card holder: the simulator's first default user, who holds
// three roles.
const (
	PIN  = "123456"
	UID  = "555000111222"
	Name = "Jane Smith"
)

var (
	pkiOnce = sync.OnceValues(testpki.New)
	userMu  sync.Mutex
	users   = map[string]*testpki.User{}
)

// SharedPKI returns the process's test PKI.
func SharedPKI() (*testpki.PKI, error) { return pkiOnce() }

// SharedUser returns a certificate and key for uid from [SharedPKI],
// issued once per process.
func SharedUser(uid, name string) (*testpki.User, error) {
	pki, err := SharedPKI()
	if err != nil {
		return nil, err
	}
	userMu.Lock()
	defer userMu.Unlock()
	if u, ok := users[uid]; ok {
		return u, nil
	}
	u, err := pki.IssueUser(uid, name)
	if err != nil {
		return nil, err
	}
	users[uid] = u
	return u, nil
}

// Options describe a [Rig]. The zero value is the default card holder with
// a simulator on a free loopback port and no admin endpoint.
type Options struct {
	// Dir holds the card's directory and the configuration; it must exist.
	Dir string
	// ModulePath is the virtual card module (vcard.ModulePath).
	ModulePath string
	// UID and Name are the card holder; default [UID] and [Name].
	UID, Name string
	// Sim configures the simulator; its PKI is always [SharedPKI].
	Sim brokersim.Options
}

// Rig is a running broker simulator and a virtual card.
type Rig struct {
	Sim  *brokersim.Server
	Card *vcard.Card
	// PIN is the card's passcode.
	PIN string
	// Config is the host configuration (the keys of host/config): the
	// virtual card's module, the simulator's URL and CA, and a fast card
	// poll. Callers may change it before [Rig.WriteConfig] or [Rig.Env].
	Config map[string]any
	// Agent is the rig's private agent endpoint: the hosts and oia
	// commands run with [Rig.Env] share one agent there.
	Agent *Agent
	dir   string
}

// Start starts a simulator and makes an inserted virtual card for the card
// holder. Close stops the simulator.
func Start(o Options) (*Rig, error) {
	if o.Dir == "" || o.ModulePath == "" {
		return nil, errors.New("rig: Dir and ModulePath are required")
	}
	if o.UID == "" {
		o.UID, o.Name = UID, Name
	}
	pki, err := SharedPKI()
	if err != nil {
		return nil, err
	}
	user, err := SharedUser(o.UID, o.Name)
	if err != nil {
		return nil, err
	}
	o.Sim.PKI = pki
	if o.Sim.AdminAddr == "" {
		o.Sim.AdminAddr = "off"
	}
	sim, err := brokersim.New(o.Sim)
	if err != nil {
		return nil, err
	}
	if err := sim.Start(); err != nil {
		return nil, err
	}
	c, err := vcard.Init(filepath.Join(o.Dir, "card"), vcard.InitOptions{PIN: PIN, User: user, PKI: pki})
	if err != nil {
		_ = sim.Close()
		return nil, err
	}
	agent, err := NewAgent()
	if err != nil {
		_ = sim.Close()
		return nil, err
	}
	return &Rig{
		Sim:  sim,
		Card: c,
		PIN:  PIN,
		Config: map[string]any{
			"pkcs11Modules":        []string{o.ModulePath},
			"brokerURL":            sim.URL(),
			"caBundle":             sim.CAFile(),
			"cardPollMilliseconds": 100,
			"logLevel":             "debug",
			"logFile":              filepath.Join(o.Dir, "host.log"),
		},
		Agent: agent,
		dir:   o.Dir,
	}, nil
}

// New is Start for a test: the directory and module default to a temporary
// one and the built module, failures end the test, and the simulator stops
// when the test ends.
func New(t testing.TB, o Options) *Rig {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.ModulePath == "" {
		o.ModulePath = vcard.ModulePath(t)
	}
	r, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// Close stops the rig's agent, if one runs, and the simulator.
func (r *Rig) Close() error {
	return errors.Join(r.Agent.Close(), r.Sim.Close())
}

// LogFile returns the host log file the configuration names.
func (r *Rig) LogFile() string { return r.Config["logFile"].(string) }

// WriteConfig writes the configuration to a file in the rig's directory
// and returns its path.
func (r *Rig) WriteConfig() (string, error) {
	b, err := json.Marshal(r.Config)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(r.dir, "config-*.json")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// Env writes the configuration and returns the environment a host needs
// to use it: OIA_CONFIG, an OIA_SYSTEM_CONFIG that does not exist (so the
// machine's own configuration stays out), OIA_VCARD_DIR and the rig's
// agent endpoint.
func (r *Rig) Env() ([]string, error) {
	path, err := r.WriteConfig()
	if err != nil {
		return nil, err
	}
	return []string{"OIA_CONFIG=" + path, "OIA_SYSTEM_CONFIG=" + filepath.Join(r.dir, "no-system-config.json"), r.Card.Env(), r.Agent.Env()}, nil
}
