// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package manifests

import (
	"errors"
	"strings"
	"testing"
)

// TestRender_RoundTrip renders both families and parses them back.
func TestRender_RoundTrip(t *testing.T) {
	ids := []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha", "identity-agent@openidentityagent.org", "{12345678-1234-1234-1234-123456789abc}"}
	for _, f := range []Family{Chromium, Firefox} {
		b, err := Render(f, Data{Path: `/usr/bin/oia-host`, ExtensionIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsOurs() {
			t.Errorf("%s: rendered manifest is not ours: %+v", f, m)
		}
		if ps := Check(f, m, ids, func(string) error { return nil }); len(ps) != 0 {
			t.Errorf("%s: problems in a fresh manifest: %v", f, ps)
		}
	}
}

func TestRender_Errors(t *testing.T) {
	tests := []struct {
		name string
		f    Family
		d    Data
		want string
	}{
		// Browsers ignore a manifest whose path is relative.
		{"relative path", Chromium, Data{Path: "oia-host", ExtensionIDs: []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha"}}, "not absolute"},
		// An allow-list with nobody in it would register a useless host.
		{"no chrome id", Chromium, Data{Path: "/x/oia-host", ExtensionIDs: []string{"a@b"}}, "no Chrome extension id"},
		{"no firefox id", Firefox, Data{Path: "/x/oia-host", ExtensionIDs: []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha"}}, "no Firefox add-on id"},
		// Typos must not pass silently as some third kind of id.
		{"bad id", Chromium, Data{Path: "/x/oia-host", ExtensionIDs: []string{"JOJK"}}, "neither a Chrome id"},
		{"unknown family", "safari", Data{Path: "/x/oia-host", ExtensionIDs: []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha"}}, "unknown browser family"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.f, tt.d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	id := "jojkkadnmnpkbklmagcdhigmbdlcaoha"
	ok := func(string) error { return nil }
	tests := []struct {
		name string
		f    Family
		m    Manifest
		want string
	}{
		// Chromium's only error for these is "host not found": say why.
		{"no trailing slash", Chromium, Manifest{Name: HostName, Type: "stdio", Path: "/x/oia-host", AllowedOrigins: []string{"chrome-extension://" + id}}, "lacks the trailing /"},
		{"wildcard", Chromium, Manifest{Name: HostName, Type: "stdio", Path: "/x/oia-host", AllowedOrigins: []string{"chrome-extension://*/"}}, "wildcard"},
		{"relative path", Chromium, Manifest{Name: HostName, Type: "stdio", Path: "bin/oia-host", AllowedOrigins: []string{ChromeOrigin(id)}}, "is relative"},
		{"wrong name", Chromium, Manifest{Name: "x", Type: "stdio", Path: "/x/oia-host", AllowedOrigins: []string{ChromeOrigin(id)}}, `name is "x"`},
		{"other extension", Chromium, Manifest{Name: HostName, Type: "stdio", Path: "/x/oia-host", AllowedOrigins: []string{ChromeOrigin("abcdefghijklmnopabcdefghijklmnop")}}, "not in allowed_origins"},
		{"firefox id missing", Firefox, Manifest{Name: HostName, Type: "stdio", Path: "/x/oia-host", AllowedExtensions: []string{"x@y"}}, "not in allowed_extensions"},
		{"wrong type", Firefox, Manifest{Name: HostName, Type: "storage", Path: "/x/oia-host", AllowedExtensions: []string{"identity-agent@openidentityagent.org"}}, `type is "storage"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Check(tt.f, &tt.m, []string{id, "identity-agent@openidentityagent.org"}, ok)
			var all []string
			for _, p := range ps {
				all = append(all, p.What)
				if p.Fix == "" {
					t.Errorf("problem %q has no fix", p.What)
				}
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Fatalf("problems %q, want one containing %q", all, tt.want)
			}
		})
	}
	// A missing host executable is reported with the checker's reason.
	m := Manifest{Name: HostName, Type: "stdio", Path: "/x/oia-host", AllowedOrigins: []string{ChromeOrigin(id)}}
	ps := Check(Chromium, &m, []string{id}, func(string) error { return errors.New("no such file") })
	if len(ps) != 1 || !strings.Contains(ps[0].What, "no such file") {
		t.Fatalf("problems = %v, want the missing host", ps)
	}
}

func TestParse_Bounds(t *testing.T) {
	if _, err := Parse([]byte(strings.Repeat(" ", MaxManifestSize+1))); err == nil {
		t.Fatal("an oversized manifest parsed")
	}
	if _, err := Parse([]byte("{")); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("err = %v", err)
	}
}
