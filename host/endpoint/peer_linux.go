// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package endpoint

import (
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer's credentials with SO_PEERCRED (socket(7)): the
// kernel's record of the process at the other end, which that process
// cannot forge.
func peerOf(c net.Conn) (Peer, error) {
	p := Peer{UID: -1}
	err := rawFd(c, func(fd int) error {
		cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil {
			return err
		}
		p.UID, p.PID = int(cred.Uid), int(cred.Pid)
		return nil
	})
	if err != nil {
		return p, err
	}
	if p.PID > 0 {
		p.Exe, _ = os.Readlink("/proc/" + strconv.Itoa(p.PID) + "/exe")
	}
	return p, nil
}
