// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// vpcd control bytes (vsmartcard virtualsmartcard/src/vpcd/vpcd.h).
const (
	ctrlOff   = 0x00
	ctrlOn    = 0x01
	ctrlReset = 0x02
	ctrlATR   = 0x04
)

// Reader is the card side of vpcd's virtual reader. vpcd (in pcscd's
// network namespace, see [Stack]) accepts one card connection on its port
// and polls it with ATR requests; a card is present while a connection is
// open and answers them, and closing the connection is removal.
//
// The Reader listens on a Unix socket; the relay ([Relay]) inside pcscd's
// namespace connects to it and, once the Reader says a card is in (one byte,
// 0x01), to vpcd on that namespace's loopback, and copies bytes both ways.
// With no card in, the Reader closes each connection at once.
type Reader struct {
	// Socket is the Unix socket the relay connects to.
	Socket string
	ln     net.Listener

	mu      sync.Mutex
	card    *Card
	conn    net.Conn
	records []Record
	seq     int
	trace   io.Writer
	closed  bool
	wg      sync.WaitGroup
}

// maxRecords bounds the kept APDU log; the count goes on.
const maxRecords = 10000

// Listen opens the reader on the Unix socket path, empty.
func Listen(path string) (*Reader, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	r := &Reader{Socket: path, ln: ln}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// Close removes the card and stops listening.
func (r *Reader) Close() error {
	r.mu.Lock()
	r.closed = true
	if r.conn != nil {
		r.conn.Close()
	}
	r.mu.Unlock()
	r.ln.Close()
	r.wg.Wait()
	return nil
}

// Trace prints every APDU to w as it is answered (nil stops). VERIFY data
// is never printed.
func (r *Reader) Trace(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trace = w
}

// Insert puts c into the reader; vpcd sees it at its next poll.
func (r *Reader) Insert(c *Card) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.card == c {
		return
	}
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
	r.card = c
}

// Remove takes the card out: its connection closes at once.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card = nil
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

// SwapDwell is how long [Reader.Swap] leaves the reader empty: longer
// than two of pcscd's presence polls (PCSCLITE_STATUS_POLL_RATE, 400 ms in
// pcsc-lite's src/pcscd.h), so that pcscd sees the slot empty, as it does
// a real reader's.
const SwapDwell = time.Second

// Swap takes the card out, leaves the reader empty for [SwapDwell], and
// puts c in, so that pcscd records a removal and an insertion.
//
// Without the wait pcscd can miss the removal: vpcd drops the card's
// connection when an APDU fails on it (vicc_transmit calls vicc_eject in
// vsmartcard's src/vpcd/vpcd.c), and its next presence poll accepts the
// relay's connection to the new card, already waiting, without ever
// reporting the slot empty; pcscd then keeps the old card's handle, and
// its transmits fail while the slot still reads as present.
func (r *Reader) Swap(c *Card) {
	r.Remove()
	time.Sleep(SwapDwell)
	r.Insert(c)
}

// Card returns the card in the reader, or nil.
func (r *Reader) Card() *Card {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.card
}

// Count is how many command APDUs the reader passed to its cards (ATR
// requests and power controls are not APDUs and are not counted).
func (r *Reader) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// Records returns the APDUs received since the given count (at most the
// last 10000).
func (r *Reader) Records(since int) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Record
	for _, rec := range r.records {
		if rec.Seq > since {
			out = append(out, rec)
		}
	}
	return out
}

func (r *Reader) serve() {
	defer r.wg.Done()
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		c := r.card
		if c == nil || r.closed {
			r.mu.Unlock()
			conn.Close()
			continue
		}
		if r.conn != nil {
			r.conn.Close() // the relay reconnected: the old link is dead
		}
		r.conn = conn
		r.mu.Unlock()
		if _, err := conn.Write([]byte{1}); err != nil {
			conn.Close()
			continue
		}
		c.reset()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.talk(conn, c)
		}()
	}
}

// talk serves vpcd's messages on one connection: a 2-byte big-endian
// length, then the payload, both ways. One-byte payloads are controls (only
// the ATR request is answered); longer ones are command APDUs.
func (r *Reader) talk(conn net.Conn, c *Card) {
	defer func() {
		conn.Close()
		r.mu.Lock()
		if r.conn == conn {
			r.conn = nil
		}
		r.mu.Unlock()
	}()
	buf := make([]byte, 0xFFFF)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		msg := buf[:n]
		if _, err := io.ReadFull(conn, msg); err != nil {
			return
		}
		var out []byte
		switch {
		case n == 1 && msg[0] == ctrlATR:
			out = ATR
		case n == 1 && (msg[0] == ctrlOn || msg[0] == ctrlReset || msg[0] == ctrlOff):
			c.reset()
			continue
		case n <= 1:
			continue
		default:
			data, sw := c.Process(msg)
			out = append(append(make([]byte, 0, len(data)+2), data...), byte(sw>>8), byte(sw))
			r.record(msg, sw, len(data))
		}
		frame := append([]byte{byte(len(out) >> 8), byte(len(out))}, out...)
		if _, err := conn.Write(frame); err != nil {
			return
		}
	}
}

func (r *Reader) record(cmd []byte, sw uint16, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	rec := Record{Seq: r.seq, Command: redact(cmd), SW: sw, RespLen: n}
	if len(r.records) >= maxRecords {
		r.records = r.records[1:]
	}
	r.records = append(r.records, rec)
	if r.trace != nil {
		fmt.Fprintln(r.trace, rec)
	}
}
