// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix && !linux && !darwin && !freebsd

package endpoint

import (
	"errors"
	"net"
)

// peerOf cannot read peer credentials on this system, so every connection
// is refused: the agent admits the same user only, and cannot tell.
func peerOf(net.Conn) (Peer, error) {
	return Peer{UID: -1}, errors.New("endpoint: peer credentials are not supported on this system")
}
