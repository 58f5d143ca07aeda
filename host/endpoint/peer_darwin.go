// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package endpoint

import (
	"bytes"
	"net"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer's uid with LOCAL_PEERCRED (what getpeereid(3)
// reads), its pid with LOCAL_PEERPID, and its executable from the
// kern.procargs2 sysctl, whose record begins with argc and the path.
func peerOf(c net.Conn) (Peer, error) {
	p := Peer{UID: -1}
	err := rawFd(c, func(fd int) error {
		cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if err != nil {
			return err
		}
		p.UID = int(cred.Uid)
		if pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
			p.PID = pid
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	if p.PID > 0 {
		if raw, err := unix.SysctlRaw("kern.procargs2", p.PID); err == nil && len(raw) > 4 {
			path := raw[4:]
			if i := bytes.IndexByte(path, 0); i >= 0 {
				p.Exe = string(path[:i])
			}
		}
	}
	return p, nil
}
