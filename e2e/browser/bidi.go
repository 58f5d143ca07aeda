// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// bidiReadLimit bounds one WebDriver BiDi message (screenshots are the
// largest).
const bidiReadLimit = 64 << 20

// bidi is a minimal WebDriver BiDi client (https://w3c.github.io/webdriver-bidi/):
// commands with ids, their replies, and events passed to a handler. It is
// safe for concurrent use.
type bidi struct {
	ws      *websocket.Conn
	onEvent func(method string, params json.RawMessage)

	mu      sync.Mutex
	next    int64
	pending map[int64]chan bidiMessage
	err     error         // why the connection ended, once it has
	done    chan struct{} // closed when the read loop ends
}

// bidiMessage is any message from the remote end.
type bidiMessage struct {
	Type    string          `json:"type"` // success, error, event
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// BiDiError is a command's error reply.
type BiDiError struct {
	Method  string // the command
	Code    string // e.g. "no such frame", "unknown command"
	Message string
}

func (e *BiDiError) Error() string {
	return fmt.Sprintf("browser: bidi %s: %s: %s", e.Method, e.Code, e.Message)
}

// dialBiDi connects to a BiDi session endpoint (ws://host:port/session).
// onEvent runs on the read goroutine, in order; it must not block on a
// command.
func dialBiDi(ctx context.Context, url string, onEvent func(string, json.RawMessage)) (*bidi, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("browser: connect to %s: %w", url, err)
	}
	ws.SetReadLimit(bidiReadLimit)
	b := &bidi{ws: ws, onEvent: onEvent, pending: map[int64]chan bidiMessage{}, done: make(chan struct{})}
	go b.readLoop()
	return b, nil
}

func (b *bidi) readLoop() {
	defer close(b.done)
	for {
		_, data, err := b.ws.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("browser: bidi connection ended: %w", err)
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m bidiMessage
		if err := json.Unmarshal(data, &m); err != nil {
			continue // not ours to answer; the command waiting times out
		}
		if m.Type == "event" {
			if b.onEvent != nil {
				b.onEvent(m.Method, m.Params)
			}
			continue
		}
		if m.ID == nil {
			continue
		}
		b.mu.Lock()
		ch := b.pending[*m.ID]
		delete(b.pending, *m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// call sends a command and decodes its result into out (which may be nil).
func (b *bidi) call(ctx context.Context, method string, params, out any) error {
	if params == nil {
		params = struct{}{}
	}
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return err
	}
	b.next++
	id := b.next
	ch := make(chan bidiMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()

	msg, err := json.Marshal(struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params"`
	}{id, method, params})
	if err != nil {
		return err
	}
	if err := b.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		b.forget(id)
		return fmt.Errorf("browser: bidi %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.err
		}
		if m.Type == "error" {
			return &BiDiError{Method: method, Code: m.Error, Message: m.Message}
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				return fmt.Errorf("browser: bidi %s: decode the result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		b.forget(id)
		return fmt.Errorf("browser: bidi %s: %w", method, ctx.Err())
	}
}

func (b *bidi) forget(id int64) {
	b.mu.Lock()
	delete(b.pending, id)
	b.mu.Unlock()
}

// close ends the connection and waits for the read loop.
func (b *bidi) close() error {
	err := b.ws.Close(websocket.StatusNormalClosure, "")
	<-b.done
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
