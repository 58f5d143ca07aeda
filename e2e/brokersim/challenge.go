// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// challengeLen is the size of a challenge: 48 bytes like the genuine one,
// with a big-endian millisecond timestamp at bytes 16-23
// (docs/references.md, "Broker: challenge").
const challengeLen = 48

// challenges issues and checks challenges. The server signature is an
// HMAC-SHA256 over the challenge with a per-process key, so the challenge
// itself need not be stored until it is used; used ones are remembered until
// they would have expired anyway.
type challenges struct {
	key []byte
	ttl time.Duration

	mu   sync.Mutex
	used map[[32]byte]time.Time // challenge hash -> expiry
}

func newChallenges(ttl time.Duration) (*challenges, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &challenges{key: key, ttl: ttl, used: map[[32]byte]time.Time{}}, nil
}

// issue returns a fresh challenge and its server signature, both base64.
func (c *challenges) issue(now time.Time) (challenge, signature string, err error) {
	b := make([]byte, challengeLen)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	binary.BigEndian.PutUint64(b[16:24], uint64(now.UnixMilli()))
	return base64.StdEncoding.EncodeToString(b), base64.StdEncoding.EncodeToString(c.mac(b)), nil
}

func (c *challenges) mac(b []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(b)
	return m.Sum(nil)
}

// Reasons a challenge is refused; they go to the request log.
var (
	errChallengeForged   = errors.New("challenge or server signature not issued by this broker")
	errChallengeExpired  = errors.New("challenge expired")
	errChallengeReplayed = errors.New("challenge already used")
)

// redeem checks an echoed challenge and signature and marks the challenge
// used. It returns the decoded challenge.
func (c *challenges) redeem(challenge, signature string, now time.Time) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(challenge)
	if err != nil || len(b) != challengeLen {
		return nil, errChallengeForged
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !hmac.Equal(sig, c.mac(b)) {
		return nil, errChallengeForged
	}
	issued := time.UnixMilli(int64(binary.BigEndian.Uint64(b[16:24])))
	expiry := issued.Add(c.ttl)
	if !now.Before(expiry) || issued.After(now.Add(time.Minute)) {
		return nil, errChallengeExpired
	}
	h := sha256.Sum256(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.used {
		if !now.Before(e) {
			delete(c.used, k)
		}
	}
	if _, ok := c.used[h]; ok {
		return nil, errChallengeReplayed
	}
	c.used[h] = expiry
	return b, nil
}
