// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ticketPrefix and ticketSuffix frame an OpenSSO SSOToken id as the broker
// issues it (docs/references.md, "Broker: ticket format"): "AQIC5wM2LY4S"
// + base64 of random bytes + "@" + the site id "AAJTSQACMDE=" + "#".
const (
	ticketPrefix = "AQIC5wM2LY4S"
	ticketSuffix = "@AAJTSQACMDE=#"
)

// newTicket returns a fresh ticket: 26 random bytes make the 36 base64
// characters (one "=") of the genuine capture.
func newTicket() (string, error) {
	var b [26]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return ticketPrefix + base64.StdEncoding.EncodeToString(b[:]) + ticketSuffix, nil
}

// ticketKey is how a ticket is stored: its SHA-256, so that neither memory
// dumps of the store nor the state file hold a usable ticket.
func ticketKey(ticket string) string {
	h := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(h[:])
}

// session is one live ticket.
type session struct {
	UID          string    `json:"uid"`
	RoleID       string    `json:"roleId,omitempty"`
	LogSessionID string    `json:"logSessionId"`
	Created      time.Time `json:"created"`
	LastUsed     time.Time `json:"lastUsed"`
}

// ticketStore holds the live sessions, persisted to a file when one is given.
type ticketStore struct {
	mu      sync.Mutex
	m       map[string]*session
	path    string // "" for memory only
	idle    time.Duration
	maximum time.Duration
}

const ticketsFile = "tickets.json"

func newTicketStore(dir string, idle, maximum time.Duration, now time.Time) (*ticketStore, error) {
	ts := &ticketStore{m: map[string]*session{}, idle: idle, maximum: maximum}
	if dir == "" {
		return ts, nil
	}
	ts.path = filepath.Join(dir, ticketsFile)
	data, err := os.ReadFile(ts.path)
	if errors.Is(err, fs.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &ts.m); err != nil {
		return nil, errors.New("state file " + ts.path + " is not valid: delete it to start afresh")
	}
	if ts.m == nil {
		ts.m = map[string]*session{}
	}
	ts.prune(now)
	return ts, nil
}

// expires returns when s ends: idle time after its last use, and never
// later than the maximum after its creation.
func (ts *ticketStore) expires(s *session) time.Time {
	e := s.LastUsed.Add(ts.idle)
	if m := s.Created.Add(ts.maximum); m.Before(e) {
		e = m
	}
	return e
}

func (ts *ticketStore) prune(now time.Time) {
	for k, s := range ts.m {
		if !now.Before(ts.expires(s)) {
			delete(ts.m, k)
		}
	}
}

// save writes the store; the caller holds mu.
func (ts *ticketStore) save() error {
	if ts.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(ts.m, "", "  ")
	if err != nil {
		return err
	}
	tmp := ts.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, ts.path)
}

func (ts *ticketStore) add(ticket string, s *session, now time.Time) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.prune(now)
	ts.m[ticketKey(ticket)] = s
	return ts.save()
}

// use returns a copy of the live session of ticket, refreshing its idle
// timer, or nil when the ticket is unknown or expired.
func (ts *ticketStore) use(ticket string, now time.Time, update func(*session)) *session {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.prune(now)
	s, ok := ts.m[ticketKey(ticket)]
	if !ok {
		return nil
	}
	s.LastUsed = now
	if update != nil {
		update(s)
	}
	_ = ts.save()
	c := *s
	return &c
}

// peek is use without refreshing or saving.
func (ts *ticketStore) peek(ticket string, now time.Time) *session {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	s, ok := ts.m[ticketKey(ticket)]
	if !ok || !now.Before(ts.expires(s)) {
		return nil
	}
	c := *s
	return &c
}

func (ts *ticketStore) remove(ticket string, now time.Time) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.prune(now)
	k := ticketKey(ticket)
	_, ok := ts.m[k]
	delete(ts.m, k)
	_ = ts.save()
	return ok
}
