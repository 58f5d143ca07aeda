// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package vcard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// LibName is the file name of the built module.
const LibName = "liboia-vcard.so"

// EnvLib names a directory holding a built module (make test sets it to
// build/lib); [ModulePath] uses it instead of compiling.
const EnvLib = "OIA_LIB"

// source is the module's C source (every .c file is compiled into the
// module), its internal header and the PKCS#11 header, so that the module
// can be built from the Go package alone.
//
//go:embed module/*.c module/*.h
var source embed.FS

// sourceFiles returns the names of the files in module/, sorted.
func sourceFiles() ([]string, error) {
	ents, err := fs.ReadDir(source, "module")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

// CFlags and LDLibs are how the module is compiled and linked; mk/vcard.mk
// builds it through [Build], so there is one definition.
var (
	CFlags = []string{"-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror"}
	LDLibs = []string{"-lcrypto", "-lpthread"}
)

// Build compiles the module into dir/liboia-vcard.so with the C compiler
// ($CC, else gcc) and OpenSSL's libcrypto (Debian: libssl-dev), and returns
// its path. The file is replaced atomically, so a process that has the old
// one loaded is not disturbed.
func Build(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src, err := os.MkdirTemp(dir, ".vcard-src-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	names, err := sourceFiles()
	if err != nil {
		return "", err
	}
	var cfiles []string
	for _, name := range names {
		b, err := fs.ReadFile(source, "module/"+name)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return "", err
		}
		if strings.HasSuffix(name, ".c") {
			cfiles = append(cfiles, filepath.Join(src, name))
		}
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	tmp := filepath.Join(src, LibName)
	args := append(append([]string{}, CFlags...), "-o", tmp)
	args = append(append(args, cfiles...), LDLibs...)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, cc, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %s %s: %w\n%s(needs a C compiler and libssl-dev: scripts/deps.sh installs them)",
			LibName, cc, strings.Join(args, " "), err, out.String())
	}
	dst := filepath.Join(dir, LibName)
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// sourceHash identifies the module's source and flags, naming the cache.
func sourceHash() string {
	h := sha256.New()
	names, _ := sourceFiles()
	for _, name := range names {
		b, _ := fs.ReadFile(source, "module/"+name)
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	fmt.Fprint(h, CFlags, LDLibs, os.Getenv("CC"))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// ModulePath returns the path of a built module for a test:
// $OIA_LIB/liboia-vcard.so when OIA_LIB is set, otherwise a module compiled
// from the embedded source once per source version into the user's cache
// directory (so that go test alone works). It fails the test if neither
// can be had.
func ModulePath(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(EnvLib); d != "" {
		p := filepath.Join(d, LibName)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is set but %v; run 'make build'", EnvLib, err)
		}
		return p
	}
	buildOnce.Do(func() { buildPath, buildErr = cachedBuild() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// cachedBuild builds the module into <user cache>/oia/vcard-<hash>/ unless
// it is already there. Concurrent test processes may both build; the
// atomic rename makes that harmless.
func cachedBuild() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "oia", "vcard-"+sourceHash())
	p := filepath.Join(dir, LibName)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return Build(context.Background(), dir)
}
