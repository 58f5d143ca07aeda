// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package origin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestAllows(t *testing.T) {
	list, err := ParseList([]string{"https://*.nhs.uk", "https://app.example.org:8443", "http://localhost:8080", "https://bücher.example"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin string
		want   bool
		why    string
	}{
		{"https://spine.nhs.uk", true, "a subdomain matches the wildcard"},
		{"https://a.b.nhs.uk", true, "a deeper subdomain matches too"},
		{"https://nhs.uk", false, "the wildcard does not match the domain itself"},
		{"https://evilnhs.uk", false, "a suffix that is not a label boundary"},
		{"https://nhs.uk.evil.com", false, "the domain as a prefix of another"},
		{"http://spine.nhs.uk", false, "http is not https"},
		{"https://spine.nhs.uk:8443", false, "a pattern without a port matches only 443"},
		{"https://spine.nhs.uk:443", true, "the explicit default port is the default port"},
		{"https://SPINE.NHS.UK", true, "hosts compare in lower case"},
		{"https://spine.nhs.uk.", true, "a trailing dot is removed"},
		{"https://app.example.org:8443", true, "an exact origin with its port"},
		{"https://app.example.org", false, "the exact pattern's port is required"},
		{"http://localhost:8080", true, "http is allowed for localhost"},
		{"http://localhost:8081", false, "but only on the listed port"},
		{"https://xn--bcher-kva.example", true, "an IDN pattern matches its punycode form"},
		{"https://user@spine.nhs.uk", false, "user information is not an origin"},
		{"https://spine.nhs.uk/path", false, "a path is not an origin"},
		{"chrome-extension://abc", false, "other schemes never match"},
		{"", false, "empty"},
	}
	for _, tt := range tests {
		if got := list.Allows(tt.origin); got != tt.want {
			t.Errorf("Allows(%q) = %v, want %v: %s", tt.origin, got, tt.want, tt.why)
		}
	}
}

func TestParsePattern_Refuses(t *testing.T) {
	for _, tt := range []struct{ pattern, why string }{
		{"https://*.uk", "a wildcard over a one-label domain is too broad"},
		{"http://*.nhs.uk", "http only for loopback"},
		{"ftp://a.nhs.uk", "scheme must be https"},
		{"https://a.*.nhs.uk", "a wildcard only as the first label"},
		{"https://a.nhs.uk:99999", "port out of range"},
		{"*.nhs.uk", "no scheme"},
	} {
		if _, err := ParsePattern(tt.pattern); err == nil {
			t.Errorf("ParsePattern(%q) accepted: %s", tt.pattern, tt.why)
		}
	}
}

// vectors are the cases host/origin and the extension's origin.ts share
// (testdata/vectors.json, read by extension/test/origin.test.ts too).
type vectors struct {
	Patterns []struct {
		Pattern string `json:"pattern"`
		Valid   bool   `json:"valid"`
		Why     string `json:"why"`
	} `json:"patterns"`
	Matches []struct {
		Pattern string `json:"pattern"`
		Origin  string `json:"origin"`
		Match   bool   `json:"match"`
		Why     string `json:"why"`
	} `json:"matches"`
}

func TestSharedVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Patterns {
		if _, err := ParsePattern(c.Pattern); (err == nil) != c.Valid {
			t.Errorf("ParsePattern(%q): error %v, want valid=%v: %s", c.Pattern, err, c.Valid, c.Why)
		}
	}
	for _, c := range v.Matches {
		p, err := ParsePattern(c.Pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", c.Pattern, err)
			continue
		}
		o, err := Parse(c.Origin)
		if got := err == nil && p.Match(o); got != c.Match {
			t.Errorf("%q matches %q = %v, want %v: %s", c.Pattern, c.Origin, got, c.Match, c.Why)
		}
	}
}
