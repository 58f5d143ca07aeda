// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Entry is one request in the simulator's log. Secret fields (tickets,
// challenges, signatures, signed responses) are redacted to their size.
type Entry struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"` // activate, validate, …; "" for an unknown path
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	// Status is the HTTP status sent; 0 when the connection was reset or
	// cut.
	Status int `json:"status"`
	// Fault is the kind of fault injected, if any.
	Fault FaultKind `json:"fault,omitempty"`
	// Outcome says what the simulator decided: "challenge issued",
	// "ticket issued", "refused: challenge already used", …
	Outcome string `json:"outcome"`
	// UID is the user concerned, when known.
	UID string `json:"uid,omitempty"`
	// Fields are the request's parameters (gpPARAM or query), secrets
	// redacted.
	Fields map[string]string `json:"fields,omitempty"`
	// UserAgent is the request's User-Agent.
	UserAgent string `json:"userAgent,omitempty"`
}

// secretFields are redacted in the log.
var secretFields = map[string]bool{
	"challenge": true, "signature": true, "response": true, "sso_ticket": true, "token": true, "ticket": true,
}

func redact(name, value string) string {
	if secretFields[name] && value != "" {
		return fmt.Sprintf("[redacted %d bytes]", len(value))
	}
	if len(value) > 256 {
		return value[:256] + "…"
	}
	return value
}

// maxLogEntries bounds the in-memory log; the file keeps everything.
const maxLogEntries = 10000

const logFile = "requests.jsonl"

type requestLog struct {
	mu      sync.Mutex
	entries []Entry
	file    *os.File
}

func newRequestLog(path string) (*requestLog, error) {
	l := &requestLog{}
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		l.file = f
	}
	return l, nil
}

func (l *requestLog) add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) == maxLogEntries {
		l.entries = append(l.entries[:0], l.entries[1:]...)
	}
	l.entries = append(l.entries, e)
	if l.file != nil {
		if b, err := json.Marshal(e); err == nil {
			_, _ = l.file.Write(append(b, '\n'))
		}
	}
}

func (l *requestLog) all() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

func (l *requestLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}
