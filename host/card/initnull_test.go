// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
)

// fakeOpenSC is a module that says it is OpenSC and counts its
// C_Initialize calls (through miekg/pkcs11, so with locking arguments).
type fakeOpenSC struct {
	p11
	inits, finals int
}

func (f *fakeOpenSC) Initialize(...pkcs11.InitializeOption) error { f.inits++; return nil }
func (f *fakeOpenSC) Finalize() error                             { f.finals++; return nil }
func (f *fakeOpenSC) Destroy()                                    {}
func (f *fakeOpenSC) GetInfo() (pkcs11.Info, error) {
	return pkcs11.Info{ManufacturerID: "OpenSC Project"}, nil
}

func TestOpen_OpenSCUnlockedFallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		initNull error
		unlocked bool // the module runs without locks
		inits    int  // locked C_Initialize calls
		warned   bool
		why      string
	}{
		{"no-lock works", nil, true, 1, false, "the first, locked, C_Initialize tells OpenSC; then it runs without locks"},
		{"cannot load again", errors.New("the module could not be loaded again to initialise it without locking"), false, 2, true, "OpenSC still loads, with locks, and the log says why"},
		{"vendor-defined CK_RV", pkcs11.Error(0x80000000), false, 2, true, "CKR_VENDOR_DEFINED is a module's answer, no failure to load"},
		{"C_Initialize fails", pkcs11.Error(pkcs11.CKR_GENERAL_ERROR), false, 2, true, "any failure falls back to the locked initialisation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "opensc-pkcs11.so")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			var logged []string
			oldNull, oldLog := initNull, logf
			initNull = func(string) error { return tc.initNull }
			logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
			t.Cleanup(func() {
				initNull, logf = oldNull, oldLog
				registry.mu.Lock()
				delete(registry.m, path)
				registry.mu.Unlock()
			})
			f := &fakeOpenSC{}
			m, err := open(path, func(string) (p11, error) { return f, nil })
			if err != nil {
				t.Fatalf("open: %v (%s)", err, tc.why)
			}
			if m.unlocked != tc.unlocked || m.noLock != tc.unlocked || f.inits != tc.inits {
				t.Errorf("unlocked %v noLock %v, %d locked C_Initialize; want unlocked %v, %d (%s)", m.unlocked, m.noLock, f.inits, tc.unlocked, tc.inits, tc.why)
			}
			if warned := len(logged) == 1 && strings.Contains(logged[0], "with locks instead"); warned != tc.warned {
				t.Errorf("log %q, want a warning: %v (%s)", logged, tc.warned, tc.why)
			}
		})
	}
}

func TestNativePath(t *testing.T) {
	got := nativePath("é")
	want := []byte("\xc3\xa9\x00")
	if runtime.GOOS == "windows" {
		want = []byte{0xe9, 0, 0, 0} // UTF-16LE for LoadLibraryW
	}
	if string(got) != string(want) {
		t.Errorf("nativePath(é) = %x, want %x (the loader's own encoding, NUL-terminated)", got, want)
	}
}
