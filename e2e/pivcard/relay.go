// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// relayRetry is how long the relay waits before asking the Reader again
// while no card is in.
const relayRetry = 50 * time.Millisecond

// Relay joins the Reader at the Unix socket cardSock to vpcd at vpcdAddr
// (127.0.0.1:35963 in pcscd's namespace): for as long as the Reader has a
// card in, one connection each, bytes copied both ways. When either side
// closes, both close (a removal, for vpcd) and it starts again. It returns
// when ctx ends or the Reader's socket has been gone for giveUp.
func Relay(ctx context.Context, cardSock, vpcdAddr string, giveUp time.Duration) error {
	var d net.Dialer
	gone := time.Time{}
	for ctx.Err() == nil {
		card, err := d.DialContext(ctx, "unix", cardSock)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || isRefused(err) {
				if gone.IsZero() {
					gone = time.Now()
				} else if time.Since(gone) > giveUp {
					return errors.New("pivcard relay: the reader went away")
				}
			}
			sleep(ctx, relayRetry)
			continue
		}
		gone = time.Time{}
		var hello [1]byte
		if _, err := io.ReadFull(card, hello[:]); err != nil || hello[0] != 1 {
			card.Close() // no card in
			sleep(ctx, relayRetry)
			continue
		}
		vpcd, err := d.DialContext(ctx, "tcp", vpcdAddr)
		if err != nil {
			card.Close()
			sleep(ctx, relayRetry)
			continue
		}
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(vpcd, card); done <- struct{}{} }()
		go func() { _ = copyQuickAck(card, vpcd); done <- struct{}{} }()
		n := 0
		select {
		case <-done:
			n = 1
		case <-ctx.Done():
		}
		card.Close()
		vpcd.Close()
		for ; n < 2; n++ {
			<-done
		}
	}
	return ctx.Err()
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// copyQuickAck copies vpcd's messages to the card, acknowledging each read
// at once. vpcd writes a message's 2-byte length and its payload in two
// send calls with Nagle's algorithm on (vsmartcard
// virtualsmartcard/src/vpcd/vpcd.c, sendToICC), so the payload waits for
// the length's ACK, which Linux delays by up to 40 ms: every APDU paid it.
// TCP_QUICKACK does not stick, so it is set again after every read.
func copyQuickAck(dst io.Writer, src net.Conn) error {
	raw, err := src.(syscall.Conn).SyscallConn()
	if err != nil {
		_, err = io.Copy(dst, src)
		return err
	}
	buf := make([]byte, 32*1024)
	for {
		_ = raw.Control(func(fd uintptr) { quickAck(fd) })
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}
