// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build cgo

package doctor

import "github.com/openidentityagent/oia/host/card"

// pkcs11Prober loads modules with host/card, as oia-host does.
type pkcs11Prober struct{}

var _ CardProber = pkcs11Prober{}

// DefaultCardProber returns the real PKCS#11 prober, or nil when this build
// has no cgo (and so no PKCS#11).
func DefaultCardProber() CardProber { return pkcs11Prober{} }

func (pkcs11Prober) Tokens(module string) ([]string, error) {
	m, err := card.Open(module)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	ts, err := m.Tokens()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return names, nil
}
