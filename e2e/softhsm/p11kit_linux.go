// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package softhsm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// killChildren kills the processes whose parent is pid (the server's
// per-connection p11-kit-remote children) and waits until each has exited,
// so that a client's next call finds its connection closed.
func killChildren(pid int) {
	for _, child := range children(pid) {
		fd, err := unix.PidfdOpen(child, 0)
		if err != nil {
			continue // already gone
		}
		if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
			// A pidfd becomes readable when the process exits.
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, 5000); err != unix.EINTR {
					break
				}
			}
		}
		unix.Close(fd)
	}
}

// children returns the pids whose parent is pid, from /proc.
func children(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …": comm may hold spaces and parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil && pp == pid {
				out = append(out, p)
			}
		}
	}
	return out
}
