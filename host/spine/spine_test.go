// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package spine

import (
	"strings"
	"testing"
)

func TestResolveBaseURL(t *testing.T) {
	cases := []struct {
		name     string
		env, url string
		want     string // empty when an error is expected
		errHas   string
	}{
		// the default deployment: live by name
		{"live", "live", "", "https://gas.national.ncrs.nhs.uk", ""},
		// names are case-insensitive as typed by administrators
		{"int upper case", "INT", "", "https://gas.nis1.national.ncrs.nhs.uk", ""},
		// an explicit URL wins over the environment (the simulator, a proxy)
		{"explicit overrides", "live", "https://127.0.0.1:8443", "https://127.0.0.1:8443", ""},
		// a trailing slash would double up when paths are joined
		{"trailing slash trimmed", "", "https://broker.example/base/", "https://broker.example/base", ""},
		// plain http would send tickets in clear
		{"http refused", "", "http://gas.national.ncrs.nhs.uk", "", "must use https"},
		// a typo in the name must list the valid ones
		{"unknown env", "prod", "", "", "dep, dev, int, live, training"},
		// nothing configured at all
		{"empty", "", "", "", "no broker environment"},
		// a URL without host cannot be dialled
		{"no host", "", "https:///path", "", "has no host"},
		// credentials in the URL would leak into logs
		{"user info refused", "", "https://u:p@broker.example", "", "user information"},
		// a query would be mangled by path joins
		{"query refused", "", "https://broker.example/?a=1", "", "query"},
		// garbage
		{"not a url", "", "https://[::1", "", "not a url"},
		// bounded input
		{"too long", "", "https://" + strings.Repeat("a", 3000), "", "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := ResolveBaseURL(c.env, c.url)
			if c.want != "" {
				if err != nil {
					t.Fatalf("ResolveBaseURL: %v", err)
				}
				if u.String() != c.want {
					t.Fatalf("got %s, want %s", u, c.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %s, want an error containing %q", u, c.errHas)
			}
			if !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("error %q does not contain %q", err, c.errHas)
			}
		})
	}
}

func TestEnvironmentsAreValid(t *testing.T) {
	for name := range Environments {
		if _, err := ResolveBaseURL(name, ""); err != nil {
			t.Errorf("environment %s: %v", name, err)
		}
	}
}
