// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build !unix && !windows

package endpoint

import (
	"context"
	"errors"
	"net"
)

var errUnsupported = errors.New("endpoint: the agent's endpoint is not supported on this system")

func defaultAddress() (string, error) { return "", errUnsupported }

func listen(string) (net.Listener, func() error, func() bool, error) {
	return nil, nil, nil, errUnsupported
}

func dial(context.Context, string) (net.Conn, error) { return nil, errUnsupported }

func sameUser(Peer) bool { return false }

func peerOf(net.Conn) (Peer, error) { return Peer{UID: -1}, errUnsupported }

func serverOf(net.Conn) (Peer, error) { return Peer{UID: -1}, errUnsupported }
