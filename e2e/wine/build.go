// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// buildMu serialises the builds of this process; builds of other processes
// race harmlessly (each writes a temporary file and renames it).
var buildMu sync.Mutex

// cacheDir is where built shims are kept between runs: the user's cache
// folder, else the system's temporary folder.
func cacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "oia-wine")
	}
	return filepath.Join(os.TempDir(), "oia-wine-cache")
}

// buildC compiles src (C) with the mingw-w64 compiler cc into name (a .dll
// when shared, else an .exe), reusing the cached file when the source, the
// flags and the compiler's version are the same. It returns the file's path.
func buildC(cc, name string, src []byte, shared bool, libs ...string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ver, err := exec.CommandContext(ctx, cc, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("wine: %s --version: %w", cc, err)
	}
	args := []string{"-O2", "-s", "-Wall", "-Werror"}
	if shared {
		args = append(args, "-shared")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", ver, strings.Join(args, " "), strings.Join(libs, " "))
	h.Write(src)
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	dir := cacheDir()
	out := filepath.Join(dir, sum+"-"+name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("wine: shim cache: %w", err)
	}
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("wine: shim cache: %w", err)
	}
	defer os.RemoveAll(work)
	c := filepath.Join(work, strings.TrimSuffix(name, filepath.Ext(name))+".c")
	if err := os.WriteFile(c, src, 0o644); err != nil {
		return "", fmt.Errorf("wine: %w", err)
	}
	tmp := filepath.Join(work, name)
	args = append(args, "-o", tmp, c)
	args = append(args, libs...)
	if b, err := exec.CommandContext(ctx, cc, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("wine: build %s: %v\n%s", name, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("wine: shim cache: %w", err)
	}
	return out, nil
}
