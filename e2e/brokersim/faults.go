// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint names, used in faults and the request log.
const (
	EndpointActivate      = "activate"
	EndpointValidate      = "validate"
	EndpointRoleSelect    = "roleselect"
	EndpointRoleAssertion = "roleassertion"
	EndpointLogout        = "logout"
	// EndpointAny matches every endpoint.
	EndpointAny = "*"
)

var endpoints = map[string]bool{
	EndpointActivate: true, EndpointValidate: true, EndpointRoleSelect: true,
	EndpointRoleAssertion: true, EndpointLogout: true, EndpointAny: true,
}

// FaultKind is what a fault does.
type FaultKind string

// The fault kinds.
const (
	// FaultDelay waits Delay before answering (normally).
	FaultDelay FaultKind = "delay"
	// FaultStatus answers with HTTP Status (default 503) and an error page.
	FaultStatus FaultKind = "status"
	// FaultReset closes the TCP connection with a reset, without an answer.
	FaultReset FaultKind = "reset"
	// FaultTruncate sends the headers and half of the real answer, with a
	// Content-Length for the whole, then closes.
	FaultTruncate FaultKind = "truncate"
	// FaultMalformed answers 200 with a body that is not the document
	// expected.
	FaultMalformed FaultKind = "malformed"
	// FaultTLS presents, on new connections, a server certificate from
	// another authority. It applies per connection, whatever the endpoint.
	FaultTLS FaultKind = "tls"
	// FaultForeignURL answers normally but points reply_url (activate) or
	// sso_logout_url (validate) at another host.
	FaultForeignURL FaultKind = "foreignurl"
)

var faultKinds = map[FaultKind]bool{
	FaultDelay: true, FaultStatus: true, FaultReset: true, FaultTruncate: true,
	FaultMalformed: true, FaultTLS: true, FaultForeignURL: true,
}

// Fault is an injected failure.
type Fault struct {
	// Endpoint is one of activate, validate, roleselect, roleassertion,
	// logout, or * for all. Ignored for FaultTLS.
	Endpoint string
	// Kind is what happens.
	Kind FaultKind
	// Delay is the wait of FaultDelay.
	Delay time.Duration
	// Status is the HTTP status of FaultStatus (default 503).
	Status int
	// Count is how many requests (connections, for FaultTLS) the fault
	// hits before it is spent; 0 means until cleared.
	Count int
}

// faultJSON is the admin endpoint's form of a Fault: delay as a Go
// duration string ("5s").
type faultJSON struct {
	Endpoint string    `json:"endpoint"`
	Kind     FaultKind `json:"kind"`
	Delay    string    `json:"delay,omitempty"`
	Status   int       `json:"status,omitempty"`
	Count    int       `json:"count,omitempty"`
}

// MarshalJSON writes the admin form.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Endpoint: f.Endpoint, Kind: f.Kind, Status: f.Status, Count: f.Count}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the admin form.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Endpoint: j.Endpoint, Kind: j.Kind, Status: j.Status, Count: j.Count}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("delay %q is not a duration such as 5s", j.Delay)
		}
		f.Delay = d
	}
	return nil
}

// check validates f and fills defaults.
func (f *Fault) check() error {
	if !faultKinds[f.Kind] {
		return fmt.Errorf("fault kind %q is unknown: use delay, status, reset, truncate, malformed, tls or foreignurl", f.Kind)
	}
	if f.Endpoint == "" {
		f.Endpoint = EndpointAny
	}
	if !endpoints[f.Endpoint] {
		return fmt.Errorf("fault endpoint %q is unknown: use activate, validate, roleselect, roleassertion, logout or *", f.Endpoint)
	}
	if f.Kind == FaultDelay && (f.Delay <= 0 || f.Delay > 10*time.Minute) {
		return fmt.Errorf("delay fault needs a delay between 0 and 10m")
	}
	if f.Kind == FaultStatus {
		if f.Status == 0 {
			f.Status = 503
		}
		if f.Status < 400 || f.Status > 599 {
			return fmt.Errorf("status fault needs a status from 400 to 599")
		}
	}
	if f.Count < 0 {
		return fmt.Errorf("fault count must be 0 (until cleared) or more")
	}
	return nil
}

// ParseFault reads the --fault flag form endpoint:kind[:arg][:count], e.g.
// "validate:delay:5s", "activate:status:503:2", "*:reset", "*:tls:1".
func ParseFault(s string) (Fault, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 4 {
		return Fault{}, fmt.Errorf("fault %q is not endpoint:kind[:arg][:count]", s)
	}
	f := Fault{Endpoint: parts[0], Kind: FaultKind(parts[1])}
	rest := parts[2:]
	if len(rest) > 0 && (f.Kind == FaultDelay || f.Kind == FaultStatus) {
		if f.Kind == FaultDelay {
			d, err := time.ParseDuration(rest[0])
			if err != nil {
				return Fault{}, fmt.Errorf("fault %q: %q is not a duration such as 5s", s, rest[0])
			}
			f.Delay = d
		} else {
			n, err := strconv.Atoi(rest[0])
			if err != nil {
				return Fault{}, fmt.Errorf("fault %q: %q is not an http status", s, rest[0])
			}
			f.Status = n
		}
		rest = rest[1:]
	}
	if len(rest) > 1 {
		return Fault{}, fmt.Errorf("fault %q is not endpoint:kind[:arg][:count]", s)
	}
	if len(rest) == 1 {
		n, err := strconv.Atoi(rest[0])
		if err != nil {
			return Fault{}, fmt.Errorf("fault %q: count %q is not a number", s, rest[0])
		}
		f.Count = n
	}
	return f, f.check()
}

// faultSet holds the active faults.
type faultSet struct {
	mu     sync.Mutex
	faults []*Fault
}

func (fs *faultSet) add(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, &f)
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

func (fs *faultSet) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.faults))
	for _, f := range fs.faults {
		out = append(out, *f)
	}
	return out
}

func (fs *faultSet) hasTLS() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.faults {
		if f.Kind == FaultTLS {
			return true
		}
	}
	return false
}

// take returns the first fault that matches, spending one of its count.
// For FaultTLS, endpoint is ignored; other kinds never match a "" endpoint.
func (fs *faultSet) take(endpoint string, tls bool) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if (f.Kind == FaultTLS) != tls {
			continue
		}
		if !tls && f.Endpoint != EndpointAny && f.Endpoint != endpoint {
			continue
		}
		out := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			}
		}
		return out, true
	}
	return Fault{}, false
}
