// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package endpoint

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer's uid with LOCAL_PEERCRED (what getpeereid(3)
// reads); FreeBSD's xucred does not name the process here.
func peerOf(c net.Conn) (Peer, error) {
	p := Peer{UID: -1}
	err := rawFd(c, func(fd int) error {
		cred, err := unix.GetsockoptXucred(fd, 0, unix.LOCAL_PEERCRED)
		if err != nil {
			return err
		}
		p.UID = int(cred.Uid)
		return nil
	})
	return p, err
}
