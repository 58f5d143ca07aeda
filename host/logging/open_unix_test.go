// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package logging

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenAppend_SharedPath: a logFile IT points at a shared folder cannot
// be redirected by a planted link or FIFO, and an existing file is made
// readable by its owner alone.
func TestOpenAppend_SharedPath(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if f, err := openAppend(link); err == nil {
		f.Close()
		t.Error("a symbolic link planted at the log path was followed")
	}
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := openAppend(fifo); err == nil {
		f.Close()
		t.Error("a FIFO at the log path was accepted")
	}
	loose := filepath.Join(dir, "host.log")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openAppend(loose)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o600 {
		t.Errorf("an existing log file keeps mode %o; want 0600", fi.Mode().Perm())
	}
}
