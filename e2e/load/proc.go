// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc is what /proc shows of a process from the outside.
type Proc struct {
	// RSSKiB is VmRSS, the resident memory, in KiB.
	RSSKiB int64
	// Threads is the number of OS threads.
	Threads int
	// FDs is the number of open file descriptors.
	FDs int
}

// RSSMiB is the resident memory in MiB.
func (p Proc) RSSMiB() float64 { return float64(p.RSSKiB) / 1024 }

// String formats p for a test log.
func (p Proc) String() string {
	return fmt.Sprintf("rss=%.1fMiB threads=%d fds=%d", p.RSSMiB(), p.Threads, p.FDs)
}

// ReadProc reads /proc/<pid>/status and counts /proc/<pid>/fd (Linux only).
func ReadProc(pid int) (Proc, error) {
	var p Proc
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("load: %w (the outside view needs Linux /proc)", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			p.RSSKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "Threads":
			p.Threads, _ = strconv.Atoi(f[0])
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return p, fmt.Errorf("load: %w", err)
	}
	p.FDs = len(fds)
	return p, nil
}
