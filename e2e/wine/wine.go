// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package wine runs Windows programs under Wine for tests: it finds Wine,
// makes private prefixes (WINEPREFIX) in temporary folders, runs programs
// in them with their own arguments, environment and input, reads and writes
// the prefix's registry with Wine's reg.exe, maps Windows paths to the
// prefix's files, and stops everything it started.
//
// Debian 12's Wine 8.0 has no bcryptprimitives.dll, which Go's Windows
// runtime loads from system32 at start; every prefix gets a test-only shim
// (shim/bcryptprimitives.c, built with mingw-w64 once and cached).
//
// Making a prefix from nothing takes a few seconds and about 700 MB (Wine
// copies its DLLs into it). So a process makes one template prefix, the
// first time a test asks, and each [Prefix] is a hard-linked copy of it
// (well under a second): every prefix has its own registry, its own
// wineserver and its own named pipes, so tests isolate by taking one each.
// Files under C:\windows are hard links shared with the template and the
// other prefixes: write new files there, never rewrite existing ones in
// place. A test package calls [RemoveTemplate] from TestMain after m.Run.
//
// Wine runs everything as one user and reports every file as owned by that
// user (or by an anonymous SID for files of other Unix users): a file owned
// by Administrators, or a second Windows user, cannot be made. Tests that
// need them must say so and skip, or check what Wine can show.
package wine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Overrides is the WINEDLLOVERRIDES of every prefix: no Mono or Gecko
// installer dialog, and no menu entries or file associations written to
// the desktop.
const Overrides = "mscoree,mshtml=;winemenubuilder.exe=d"

// tools are the programs the rig needs.
type tools struct {
	wine64, wine32, server, cc64 string
}

// find locates Wine and mingw-w64. Debian installs the loaders in
// /usr/lib/wine without a wine command on PATH unless the wine package is
// installed too; OIA_WINE names another wine64 loader.
func find() (tools, error) {
	var t tools
	look := func(env string, names ...string) string {
		if v := os.Getenv(env); env != "" && v != "" {
			return v
		}
		for _, n := range names {
			if filepath.IsAbs(n) {
				if fi, err := os.Stat(n); err == nil && !fi.IsDir() {
					return n
				}
				continue
			}
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	t.wine64 = look("OIA_WINE", "wine64", "/usr/lib/wine/wine64", "/usr/lib64/wine/wine64")
	if t.wine64 == "" {
		return t, errors.New("wine: wine64 is not installed: run 'scripts/deps.sh test' (Debian package wine64)")
	}
	t.server = look("", filepath.Join(filepath.Dir(t.wine64), "wineserver"), "wineserver", "/usr/lib/wine/wineserver")
	if t.server == "" {
		return t, fmt.Errorf("wine: no wineserver beside %s: reinstall wine64", t.wine64)
	}
	t.wine32 = look("", filepath.Join(filepath.Dir(t.wine64), "wine"), "/usr/lib/wine/wine")
	t.cc64 = look("", "x86_64-w64-mingw32-gcc")
	if t.cc64 == "" {
		return t, errors.New("wine: x86_64-w64-mingw32-gcc is not installed (it builds the bcryptprimitives shim): run 'scripts/deps.sh test'")
	}
	return t, nil
}

// Available says why Wine cannot run 64-bit Windows programs here, or
// returns nil when it can. Tests skip with its text.
func Available() error {
	_, err := find()
	return err
}

// Available32 says why Wine cannot run 32-bit (x86) Windows programs here,
// or returns nil when it can. Debian needs the wine32 package from the
// i386 architecture for that (docs/installer.md, "Tested under Wine").
func Available32() error {
	t, err := find()
	if err != nil {
		return err
	}
	if t.wine32 == "" {
		return errors.New("wine: 32-bit Windows programs need wine32 (dpkg --add-architecture i386; apt-get install wine32), which is not installed")
	}
	return nil
}
