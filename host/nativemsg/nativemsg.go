// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package nativemsg implements the browsers' native-messaging framing: each
// message is a 32-bit length in the machine's native byte order, then that
// many bytes of UTF-8 JSON (docs/protocol.md §3.1).
//
// [Reader] reads frames with bounds and resynchronises after a bad one, so
// that one hostile or broken frame costs an error reply, never the
// connection. [Writer] owns the output: one goroutine writes every frame, so
// frames never interleave, and no frame larger than the browsers' 1 MiB
// limit is ever written (a larger one would make the browser close the
// port).
//
// [TakeStdout] protects the protocol from stray output: it keeps a private
// copy of the process's standard output for frames and points file
// descriptor 1 at standard error, so a print from Go or from a C PKCS#11
// module lands in the log stream instead of corrupting the frames.
package nativemsg

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Bounds on frame sizes.
const (
	// MaxInbound is the largest frame the host accepts from the browser.
	// The largest real request is under 200 bytes; 64 KiB leaves room for
	// growth and keeps a hostile frame cheap.
	MaxInbound = 64 << 10
	// MaxOutbound is the largest frame the browsers accept from a host
	// (Chromium's kMaximumNativeMessageSize, Gecko's max-input-message-bytes).
	MaxOutbound = 1 << 20
)

// FrameErrorKind says what was wrong with a frame.
type FrameErrorKind int

// The kinds of frame errors.
const (
	// ErrEmpty is a frame whose length is zero.
	ErrEmpty FrameErrorKind = iota + 1
	// ErrTooLarge is a frame whose length is over the bound.
	ErrTooLarge
	// ErrInvalidJSON is a frame whose body is not valid UTF-8 JSON.
	ErrInvalidJSON
)

func (k FrameErrorKind) String() string {
	switch k {
	case ErrEmpty:
		return "empty frame"
	case ErrTooLarge:
		return "frame too large"
	case ErrInvalidJSON:
		return "invalid json"
	}
	return "frame error"
}

// FrameError is a frame that was read off the stream but cannot be used.
// The stream is still in step after it: the next Read reads the next frame.
type FrameError struct {
	Kind FrameErrorKind
	Size uint32 // the frame's declared length
	Max  int    // the bound, for ErrTooLarge
}

func (e *FrameError) Error() string {
	switch e.Kind {
	case ErrTooLarge:
		return fmt.Sprintf("nativemsg: frame of %d bytes is over the %d-byte limit", e.Size, e.Max)
	case ErrEmpty:
		return "nativemsg: frame of length zero"
	}
	return fmt.Sprintf("nativemsg: frame of %d bytes is not valid json", e.Size)
}

// Reader reads frames from a stream.
type Reader struct {
	r   io.Reader
	max int
	hdr [4]byte
}

// NewReader returns a Reader of frames from r, refusing frames longer than
// max bytes (use [MaxInbound]).
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: r, max: max}
}

// Read returns the next frame's JSON body. At the end of the stream it
// returns io.EOF (the browser closed the port); a stream cut inside a frame
// gives io.ErrUnexpectedEOF. A frame that is empty, too long or not JSON
// gives a *FrameError, and the Reader stays in step: an over-long body is
// read and discarded, never held in memory.
func (r *Reader) Read() ([]byte, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return nil, err
	}
	n := binary.NativeEndian.Uint32(r.hdr[:])
	if n == 0 {
		return nil, &FrameError{Kind: ErrEmpty}
	}
	if uint64(n) > uint64(r.max) {
		if _, err := io.CopyN(io.Discard, r.r, int64(n)); err != nil {
			return nil, noEOF(err)
		}
		return nil, &FrameError{Kind: ErrTooLarge, Size: n, Max: r.max}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.r, body); err != nil {
		return nil, noEOF(err)
	}
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, &FrameError{Kind: ErrInvalidJSON, Size: n}
	}
	return body, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadMessage reads one frame from r and returns its JSON body: the one-shot
// form of [Reader.Read].
func ReadMessage(r io.Reader, max int) ([]byte, error) {
	return NewReader(r, max).Read()
}

// ErrOutboundTooLarge is returned by [Writer.Send] and [Encode] for a
// message over [MaxOutbound]: the browser would close the port on it.
var ErrOutboundTooLarge = errors.New("nativemsg: message is over the browsers' 1 MiB limit and was not sent")

// ErrClosed is returned by [Writer.Send] after [Writer.Close] or after a
// write failed.
var ErrClosed = errors.New("nativemsg: writer is closed")

// Encode marshals v and frames it: a 4-byte native-order length, then the
// JSON. It refuses messages over [MaxOutbound].
func Encode(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("nativemsg: %w", err)
	}
	return Frame(body)
}

// Frame prefixes a JSON body with its length. It refuses bodies over
// [MaxOutbound].
func Frame(body []byte) ([]byte, error) {
	if len(body) > MaxOutbound {
		return nil, ErrOutboundTooLarge
	}
	buf := make([]byte, 4, 4+len(body))
	binary.NativeEndian.PutUint32(buf, uint32(len(body)))
	return append(buf, body...), nil
}

// Writer writes frames to one output from one goroutine, in the order Send
// was called.
type Writer struct {
	out   io.Writer
	queue chan []byte
	done  chan struct{}
	err   atomic.Pointer[error] // the first write error

	// closeMu guards closed and the closing of queue: senders hold it for
	// reading while they queue, Close for writing. The writer goroutine
	// never takes it, so a sender blocked on a full queue cannot stall it.
	closeMu sync.RWMutex
	closed  bool

	// roomMu and room wake [Writer.WaitRoom] after each frame is written.
	roomMu sync.Mutex
	room   *sync.Cond
}

// NewWriter starts the goroutine that owns out. queue is how many frames may
// wait to be written before Send blocks.
func NewWriter(out io.Writer, queue int) *Writer {
	w := &Writer{out: out, queue: make(chan []byte, queue), done: make(chan struct{})}
	w.room = sync.NewCond(&w.roomMu)
	go w.loop()
	return w
}

func (w *Writer) loop() {
	defer func() {
		close(w.done)
		w.wake()
	}()
	for frame := range w.queue {
		if w.err.Load() == nil { // else drain, so that senders never block on a dead output
			if _, err := w.out.Write(frame); err != nil {
				w.err.CompareAndSwap(nil, &err)
			}
		}
		w.wake()
	}
}

func (w *Writer) wake() {
	w.roomMu.Lock()
	w.room.Broadcast()
	w.roomMu.Unlock()
}

// WaitRoom waits until at most n frames wait to be written, or the writer
// has failed or stopped. The agent's reader of one client calls it before
// each request, so that a client that sends faster than it reads its
// answers is slowed down (backpressure) rather than overflowing its queue.
func (w *Writer) WaitRoom(n int) {
	w.roomMu.Lock()
	defer w.roomMu.Unlock()
	for len(w.queue) > n && w.err.Load() == nil {
		select {
		case <-w.done:
			return
		default:
		}
		w.room.Wait()
	}
}

// Send frames v and queues it for writing. It returns ErrOutboundTooLarge
// (and sends nothing) for a message over the limit, ErrClosed after Close,
// and the write error once one write has failed. Safe for concurrent use.
func (w *Writer) Send(v any) error { return w.enqueue(v, true) }

// ErrQueueFull is returned by [Writer.TrySend] when the reader at the
// other end has fallen so far behind that the queue is full.
var ErrQueueFull = errors.New("nativemsg: the reader is not keeping up: its queue is full")

// TrySend is Send that never blocks: with the queue full it sends nothing
// and returns ErrQueueFull. The agent sends to many clients with it, so
// that one client that stops reading cannot stall the others.
func (w *Writer) TrySend(v any) error { return w.enqueue(v, false) }

// enqueue frames v and queues it, waiting for room when block is set.
func (w *Writer) enqueue(v any, block bool) error {
	frame, err := Encode(v)
	if err != nil {
		return err
	}
	if e := w.err.Load(); e != nil {
		return *e
	}
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	if block {
		w.queue <- frame
		return nil
	}
	select {
	case w.queue <- frame:
		return nil
	default:
		return ErrQueueFull
	}
}

// Close writes the frames already queued, stops the goroutine and returns
// the first write error, if any.
func (w *Writer) Close() error {
	w.closeMu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.closeMu.Unlock()
	<-w.done
	if e := w.err.Load(); e != nil {
		return *e
	}
	return nil
}
