// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// helperEnv makes the test binary a second host process that appends to
// the log file named in it; see TestRotation_TwoProcesses.
const helperEnv = "OIA_LOGGING_TEST_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(writerProcess(path))
	}
	os.Exit(m.Run())
}

func writerProcess(path string) int {
	log, closer, err := New(Options{Path: path, MaxSize: 32 << 10, Backups: MaxBackups})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range 1500 {
		log.WithField("pid", os.Getpid()).WithField("seq", i).Info("entry from a second process")
	}
	if err := closer.Close(); err != nil {
		return 1
	}
	return 0
}

// logFiles returns path and its backups that exist, oldest first.
func logFiles(t *testing.T, path string) []string {
	t.Helper()
	matches, _ := filepath.Glob(path + ".*[0-9]")
	if _, err := os.Stat(path); err == nil {
		matches = append(matches, path)
	}
	slices.SortFunc(matches, func(a, b string) int { return suffix(b) - suffix(a) })
	return matches
}

func suffix(p string) int {
	i := strings.LastIndexByte(p, '.')
	n, err := strconv.Atoi(p[i+1:])
	if err != nil {
		return 0
	}
	return n
}

func TestRotation_KeepsBackupsPlusOneFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		backups int
		want    int
	}{
		{"default", 0, DefaultBackups + 1}, // zero means the default of 3
		{"one backup", 1, 2},               // the smallest history
		{"seven backups", 7, 8},            // more than the default
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			const maxSize = 4096
			path := filepath.Join(t.TempDir(), "host.log")
			log, closer, err := New(Options{Path: path, MaxSize: maxSize, Backups: c.backups})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2000
			for i := range n {
				log.WithField("seq", i).Info("a line of ordinary length to fill the file")
			}
			_ = closer.Close()

			files := logFiles(t, path)
			if len(files) != c.want {
				t.Fatalf("got files %v, want %d", files, c.want)
			}
			var seqs []int
			for _, f := range files {
				fi, _ := os.Stat(f)
				if fi.Size() > maxSize {
					t.Errorf("%s is %d bytes, over the %d cap", f, fi.Size(), maxSize)
				}
				for _, l := range readLines(t, f) {
					seqs = append(seqs, int(l["seq"].(float64)))
				}
			}
			// Oldest file first, the entries run on without a gap up to the last.
			for i := 1; i < len(seqs); i++ {
				if seqs[i] != seqs[i-1]+1 {
					t.Fatalf("entry %d follows %d across %v", seqs[i], seqs[i-1], files)
				}
			}
			if seqs[len(seqs)-1] != n-1 {
				t.Errorf("the last entry is %d, want %d", seqs[len(seqs)-1], n-1)
			}
		})
	}
}

func TestRotation_AtOpenWhenAlreadyOver(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "host.log")
	old := strings.Repeat(`{"msg":"old"}`+"\n", 400)
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	log, closer, err := New(Options{Path: path, MaxSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("new")
	_ = closer.Close()
	if b, _ := os.ReadFile(path + ".1"); string(b) != old {
		t.Errorf("host.log.1 holds %d bytes, want the %d of the old file", len(b), len(old))
	}
	if l := readLines(t, path); len(l) != 1 || l[0]["msg"] != "new" {
		t.Errorf("host.log holds %v, want only the new entry", l)
	}
}

func TestRotation_ConcurrentGoroutines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "host.log")
	log, closer, err := New(Options{Path: path, MaxSize: 64 << 10, Backups: MaxBackups})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 400
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				log.WithField("w", w).WithField("seq", i).Info(strings.Repeat("x", w*20))
			}
		})
	}
	wg.Wait()
	_ = closer.Close()
	seen := map[string]bool{}
	for _, f := range logFiles(t, path) {
		for _, l := range readLines(t, f) {
			seen[fmt.Sprint(l["w"], "/", l["seq"])] = true
		}
	}
	if len(seen) != workers*each {
		t.Errorf("found %d distinct entries, want %d", len(seen), workers*each)
	}
}

func TestRotation_TwoProcesses(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "host.log")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), helperEnv+"="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	perPID := map[float64]map[float64]bool{}
	for _, f := range logFiles(t, path) {
		fi, _ := os.Stat(f)
		// Both processes may pass the size check before either writes,
		// so a file can exceed the cap by one line.
		if fi.Size() > 32<<10+200 {
			t.Errorf("%s is %d bytes, over the cap", f, fi.Size())
		}
		for _, l := range readLines(t, f) {
			pid := l["pid"].(float64)
			if perPID[pid] == nil {
				perPID[pid] = map[float64]bool{}
			}
			perPID[pid][l["seq"].(float64)] = true
		}
	}
	if len(perPID) != 2 {
		t.Fatalf("entries from %d processes, want 2", len(perPID))
	}
	for pid, seqs := range perPID {
		if len(seqs) != 1500 {
			t.Errorf("process %v: %d entries intact, want 1500", pid, len(seqs))
		}
	}
}
