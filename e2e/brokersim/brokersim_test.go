// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	cases := []struct {
		in     string
		want   Fault
		errHas string
	}{
		// a delay with its duration
		{"validate:delay:5s", Fault{Endpoint: "validate", Kind: FaultDelay, Delay: 5 * time.Second}, ""},
		// a status with a count
		{"activate:status:502:2", Fault{Endpoint: "activate", Kind: FaultStatus, Status: 502, Count: 2}, ""},
		// a status without code defaults to 503
		{"*:status", Fault{Endpoint: "*", Kind: FaultStatus, Status: 503}, ""},
		// kinds without an argument take only a count
		{"logout:reset:1", Fault{Endpoint: "logout", Kind: FaultReset, Count: 1}, ""},
		// tls applies per connection
		{"*:tls", Fault{Endpoint: "*", Kind: FaultTLS}, ""},
		// unknown kind
		{"validate:explode", Fault{}, "kind \"explode\" is unknown"},
		// unknown endpoint
		{"login:reset", Fault{}, "endpoint \"login\" is unknown"},
		// a delay needs a duration
		{"validate:delay", Fault{}, "needs a delay"},
		// bad duration
		{"validate:delay:soon", Fault{}, "not a duration"},
		// a status outside 4xx/5xx would not be a fault
		{"validate:status:200", Fault{}, "from 400 to 599"},
		// too many parts
		{"a:b:c:d:e", Fault{}, "endpoint:kind"},
		// a reset takes no argument other than a count
		{"logout:reset:x", Fault{}, "count \"x\" is not a number"},
	}
	for _, tc := range cases {
		got, err := ParseFault(tc.in)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestFaultJSON(t *testing.T) {
	var f Fault
	if err := json.Unmarshal([]byte(`{"endpoint":"validate","kind":"delay","delay":"1.5s","count":1}`), &f); err != nil {
		t.Fatal(err)
	}
	if f != (Fault{Endpoint: "validate", Kind: FaultDelay, Delay: 1500 * time.Millisecond, Count: 1}) {
		t.Errorf("got %+v", f)
	}
	b, _ := json.Marshal(f)
	if string(b) != `{"endpoint":"validate","kind":"delay","delay":"1.5s","count":1}` {
		t.Errorf("marshalled %s", b)
	}
	if err := json.Unmarshal([]byte(`{"kind":"delay","delay":"later"}`), &f); err == nil {
		t.Error("a bad delay was accepted")
	}
}

func TestFaultCount(t *testing.T) {
	var fs faultSet
	fs.add(Fault{Endpoint: "validate", Kind: FaultReset, Count: 2})
	fs.add(Fault{Endpoint: "*", Kind: FaultMalformed})
	for i, want := range []FaultKind{FaultReset, FaultReset, FaultMalformed, FaultMalformed} {
		f, ok := fs.take("validate", false)
		if !ok || f.Kind != want {
			t.Errorf("take %d: %v %v, want %s", i, f.Kind, ok, want)
		}
	}
	if _, ok := fs.take("", true); ok {
		t.Error("a tls fault appeared from nowhere")
	}
}

func TestLoadUsers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"users":[{"uid":"555000111222","name":"A & B","roles":[{"id":"1","orgCode":"X","orgName":"O, P & Q","jobRole":"J","name":"R"}]}]}`)
	users, err := LoadUsers(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Roles[0].line() != `O, P & Q, "J":"J":"R"` {
		t.Errorf("users %+v", users)
	}
	cases := []struct {
		name, text, errHas string
	}{
		// a typo in a key must not silently drop data
		{"unknown field", `{"users":[{"uid":"555000111222","name":"x","roels":[]}]}`, "unknown field"},
		// uids are 12 digits, like the certificate CN
		{"short uid", `{"users":[{"uid":"1","name":"x"}]}`, "not 12 digits"},
		// duplicates would make lookups ambiguous
		{"duplicate user", `{"users":[{"uid":"555000111222"},{"uid":"555000111222"}]}`, "listed twice"},
		// a role id goes into a URL and XML
		{"bad role id", `{"users":[{"uid":"555000111222","roles":[{"id":"a b","name":"x"}]}]}`, "not 1-64 letters"},
		// nothing to log in as
		{"empty", `{"users":[]}`, "no users"},
		// not JSON
		{"garbage", `users:`, "invalid character"},
	}
	for _, tc := range cases {
		_, err := LoadUsers(write(tc.name+".json", tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.errHas)
		}
	}
}

func TestChallenges(t *testing.T) {
	now := time.Now()
	c, err := newChallenges(2 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ch, sig, err := c.issue(now)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(ch)
	if len(raw) != 48 || int64(binary.BigEndian.Uint64(raw[16:24])) != now.UnixMilli() {
		t.Fatalf("challenge %x has no timestamp at bytes 16-23", raw)
	}
	other, _, _ := c.issue(now)
	cases := []struct {
		name      string
		ch, sig   string
		at        time.Time
		wantError error
	}{
		// the server signature of another challenge
		{"swapped signature", other, sig, now, errChallengeForged},
		// a challenge we never issued
		{"forged", base64.StdEncoding.EncodeToString(make([]byte, 48)), sig, now, errChallengeForged},
		// too late
		{"expired", ch, sig, now.Add(2 * time.Minute), errChallengeExpired},
		// the first redemption succeeds…
		{"first use", ch, sig, now.Add(time.Second), nil},
		// …and the second is a replay
		{"replay", ch, sig, now.Add(2 * time.Second), errChallengeReplayed},
	}
	for _, tc := range cases {
		if _, err := c.redeem(tc.ch, tc.sig, tc.at); err != tc.wantError {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.wantError)
		}
	}
}

func TestTicketShape(t *testing.T) {
	tk, err := newTicket()
	if err != nil {
		t.Fatal(err)
	}
	mid := strings.TrimSuffix(strings.TrimPrefix(tk, ticketPrefix), ticketSuffix)
	b, err := base64.StdEncoding.DecodeString(mid)
	if !strings.HasPrefix(tk, "AQIC5wM2LY4S") || !strings.HasSuffix(tk, "@AAJTSQACMDE=#") || err != nil || len(b) != 26 || len(mid) != 36 {
		t.Errorf("ticket %q does not have the OpenSSO shape of the capture", tk)
	}
}
