// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package origin parses web origins and matches them against the allow-list
// patterns of docs/protocol.md §3.2. The extension has a TypeScript twin of
// these rules (extension/src/shared/origin.ts); both test suites read the
// same cases from testdata/vectors.json.
//
// A pattern is "https://host", "https://host:port" or "https://*.domain"
// (any subdomain of domain, not domain itself). The scheme must be https,
// except http for localhost and 127.0.0.1 during development. Hosts compare
// in lower case and in their ASCII (punycode) form, with a trailing dot
// removed; a pattern without a port matches only the scheme's default port.
// Refused: a wildcard over one label or before an IP address, empty labels,
// and percent-encoded hosts.
package origin

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Origin is a parsed web origin.
type Origin struct {
	Scheme string // "https" or "http"
	Host   string // lower-case ASCII, no trailing dot; IPv6 without brackets
	Port   int    // explicit or the scheme's default
}

// String returns the origin in its serialised form, without a default port.
func (o Origin) String() string {
	h := o.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if o.Port == defaultPort(o.Scheme) {
		return o.Scheme + "://" + h
	}
	return o.Scheme + "://" + h + ":" + strconv.Itoa(o.Port)
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

var profile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// Parse parses an origin such as "https://spine.example.nhs.uk:8443". It
// refuses paths, queries, fragments, user information, schemes other than
// https, and http except on loopback hosts.
func Parse(s string) (Origin, error) {
	return parse(s, false)
}

func parse(s string, wildcard bool) (Origin, error) {
	if len(s) > 2048 {
		return Origin{}, fmt.Errorf("origin is longer than 2048 bytes")
	}
	u, err := url.Parse(s)
	if err != nil {
		return Origin{}, fmt.Errorf("origin %q does not parse: %w", s, err)
	}
	if strings.Contains(s, "%") {
		// url.Parse decodes some escapes in a host (b%C3%BCcher), and an
		// origin has nothing else to encode: refuse them all, as the
		// extension does.
		return Origin{}, fmt.Errorf("origin %q: a host must not be percent-encoded", s)
	}
	if u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return Origin{}, fmt.Errorf("origin %q must be scheme://host[:port] only", s)
	}
	o := Origin{Scheme: strings.ToLower(u.Scheme)}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return Origin{}, fmt.Errorf("origin %q has no host", s)
	}
	if ip := net.ParseIP(host); ip != nil {
		o.Host = ip.String()
	} else {
		label := host
		if wildcard && strings.HasPrefix(host, "*.") {
			label = host[2:]
			if strings.Trim(label, "0123456789.") == "" {
				// *.0.0.1 would match 127.0.0.1: no wildcard before an
				// IP address (or what the browser reads as one).
				return Origin{}, fmt.Errorf("origin %q: a wildcard cannot stand before an ip address", s)
			}
		}
		if slices.Contains(strings.Split(label, "."), "") {
			return Origin{}, fmt.Errorf("origin %q has an empty label in its host", s)
		}
		ascii, err := profile.ToASCII(label)
		if err != nil || ascii == "" || strings.Contains(ascii, "*") {
			return Origin{}, fmt.Errorf("origin %q has an invalid host", s)
		}
		if label != host {
			ascii = "*." + ascii
		}
		o.Host = ascii
	}
	switch o.Scheme {
	case "https":
	case "http":
		if !isLoopback(o.Host) {
			return Origin{}, fmt.Errorf("origin %q: http is allowed only for localhost and 127.0.0.1; use https", s)
		}
	default:
		return Origin{}, fmt.Errorf("origin %q: scheme must be https", s)
	}
	o.Port = defaultPort(o.Scheme)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Origin{}, fmt.Errorf("origin %q has an invalid port", s)
		}
		o.Port = n
	}
	return o, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1"
}

// Pattern is one allow-list entry.
type Pattern struct {
	o Origin // Host may start with "*."
}

// ParsePattern parses an allow-list entry.
func ParsePattern(s string) (Pattern, error) {
	o, err := parse(s, true)
	if err != nil {
		return Pattern{}, err
	}
	if strings.HasPrefix(o.Host, "*.") && strings.Count(o.Host, ".") < 2 {
		return Pattern{}, fmt.Errorf("pattern %q is too broad: a wildcard needs a domain of at least two labels, like *.nhs.uk", s)
	}
	return Pattern{o: o}, nil
}

// String returns the pattern in normal form.
func (p Pattern) String() string { return p.o.String() }

// Match reports whether o is allowed by p.
func (p Pattern) Match(o Origin) bool {
	if p.o.Scheme != o.Scheme || p.o.Port != o.Port {
		return false
	}
	if suffix, ok := strings.CutPrefix(p.o.Host, "*"); ok {
		return strings.HasSuffix(o.Host, suffix) && len(o.Host) > len(suffix)
	}
	return p.o.Host == o.Host
}

// List is a parsed allow-list.
type List []Pattern

// ParseList parses every entry; the error names the first bad one.
func ParseList(entries []string) (List, error) {
	l := make(List, 0, len(entries))
	for _, e := range entries {
		p, err := ParsePattern(e)
		if err != nil {
			return nil, err
		}
		l = append(l, p)
	}
	return l, nil
}

// Allows reports whether the origin string s parses and matches an entry.
func (l List) Allows(s string) bool {
	o, err := Parse(s)
	if err != nil {
		return false
	}
	for _, p := range l {
		if p.Match(o) {
			return true
		}
	}
	return false
}
