// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package softhsm

import (
	"errors"
	"os/exec"
	"path/filepath"
)

// NewServer starts a p11-kit server exporting the token labelled label of
// d, for callers without a testing.TB (TestMain). The caller must call
// [Server.Remove] when done.
func NewServer(d *Dir, label string) (*Server, error) {
	if _, err := exec.LookPath("p11-kit"); err != nil || ClientModulePath() == "" {
		return nil, errors.New("p11-kit is not installed: apt-get install p11-kit p11-kit-modules (scripts/deps.sh)")
	}
	s := &Server{dir: d, label: label, socket: filepath.Join(filepath.Dir(d.Conf), "p11kit-"+label+".sock")}
	if err := s.Insert(); err != nil {
		return nil, err
	}
	return s, nil
}
