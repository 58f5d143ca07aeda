// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build cgo

package doctor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/softhsm"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/config"
)

// TestCardCheck_SoftHSM runs the card check with the real PKCS#11 prober
// against a SoftHSM2 token holding a test card: the module loads and the
// card is listed.
func TestCardCheck_SoftHSM(t *testing.T) {
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	user, err := pki.IssueUser("555000000001", "Doctor Test")
	if err != nil {
		t.Fatal(err)
	}
	module, label := softhsm.NewToken(t, user, "1234")
	cfg := config.Default()
	cfg.PKCS11Modules, cfg.DefaultModules = []string{module}, false
	fs := checkCard(context.Background(), &Env{Cards: DefaultCardProber(), cfg: cfg})
	if len(fs) != 1 || fs[0].Status != OK || !strings.Contains(fs[0].Detail, label) {
		t.Fatalf("findings = %+v, want the module OK with card %s", fs, label)
	}

	// A module path that is not a PKCS#11 library fails with the reason.
	notModule := filepath.Join(t.TempDir(), "not-a-module.so")
	if err := os.WriteFile(notModule, []byte("not an ELF library"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.PKCS11Modules = []string{notModule}
	fs = checkCard(context.Background(), &Env{Cards: DefaultCardProber(), cfg: cfg})
	if len(fs) == 0 || fs[0].Status != Error {
		t.Fatalf("findings = %+v, want an error for a non-module", fs)
	}
}
