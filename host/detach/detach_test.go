// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build linux

package detach

import (
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStart_NewSessionAndNullStreams checks what the agent relies on: it
// is in a session of its own (a signal to the caller's group misses it)
// and its streams are the null device.
func TestStart_NewSessionAndNullStreams(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	script := `echo "$$ $(ps -o sid= -p $$) $(readlink /proc/$$/fd/1)" > ` + out
	if err := Start("/bin/sh", []string{"-c", script}, os.Environ()); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(out)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			fields = strings.Fields(string(b))
			break
		}
	}
	if len(fields) != 3 {
		t.Fatalf("the child wrote %q", fields)
	}
	pid, _ := strconv.Atoi(fields[0])
	sid, _ := strconv.Atoi(fields[1])
	if sid != pid {
		t.Errorf("child session %d, want its own (%d)", sid, pid)
	}
	if mine, _ := unix.Getsid(0); sid == mine {
		t.Errorf("child shares this process's session %d", mine)
	}
	if fields[2] != os.DevNull {
		t.Errorf("child stdout %q, want %s", fields[2], os.DevNull)
	}
}
