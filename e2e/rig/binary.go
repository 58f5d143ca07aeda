// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package rig

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// ErrNotFound is returned by [Binary] when a command cannot be found or
// built.
var ErrNotFound = errors.New("rig: command not found")

var (
	buildMu    sync.Mutex
	buildDir   string
	buildCache = map[string]string{}
)

// Binary returns the path of a command of this module: $OIA_BIN/<name> when
// `make test` built it, else one built now with `go build` (once per
// process, all into one temporary directory, so commands built here sit
// side by side as in build/bin). The package is host/cmd/<name>,
// installer/cmd/<name> or e2e/cmd/<name>. oia-host comes with oia beside
// it, as every package installs them: the relay starts `oia agent` from its
// own folder.
func Binary(name string) (string, error) {
	if name == "oia-host" {
		if _, err := Binary("oia"); err != nil {
			return "", err
		}
	}
	if dir := os.Getenv("OIA_BIN"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[name]; ok {
		return p, nil
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "oia-test-bin")
		if err != nil {
			return "", err
		}
		buildDir = d
	}
	p := filepath.Join(buildDir, name)
	var lastErr error
	for _, pkg := range []string{"host/cmd/", "installer/cmd/", "e2e/cmd/"} {
		out, err := exec.Command("go", "build", "-o", p, "github.com/openidentityagent/oia/"+pkg+name).CombinedOutput()
		if err == nil {
			buildCache[name] = p
			return p, nil
		}
		lastErr = fmt.Errorf("%w: go build %s: %v\n%s", ErrNotFound, name, err, out)
	}
	return "", lastErr
}
