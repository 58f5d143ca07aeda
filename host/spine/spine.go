// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package spine names the Spine Security Broker's environments and checks
// a configured broker URL. It is apart from host/broker so that the
// configuration, and oia-host with it, need not link the broker client.
package spine

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Environments maps the name of each Spine Security Broker environment to its
// base URL (docs/broker.md; docs/references.md, "Broker: hosts", from the
// AuthFacade reimplementations). The configuration key "environment"
// takes one of these names.
var Environments = map[string]string{
	"live":     "https://gas.national.ncrs.nhs.uk",
	"int":      "https://gas.nis1.national.ncrs.nhs.uk",
	"dep":      "https://gas.vn1.national.ncrs.nhs.uk",
	"training": "https://gas.tsp.national.ncrs.nhs.uk",
	"dev":      "https://gas.vn03.national.ncrs.nhs.uk",
}

// EnvironmentNames returns the names of [Environments], sorted.
func EnvironmentNames() []string {
	names := make([]string, 0, len(Environments))
	for n := range Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MaxURLLen bounds a broker URL, configured or sent by the broker.
const MaxURLLen = 2048

// ResolveBaseURL returns the broker base URL to use. A non-empty explicitURL
// overrides environment; it must be an absolute https URL with a host and
// without user information, query or fragment. Otherwise environment must be
// one of the names of [Environments]. The returned URL has no trailing slash
// in its path.
func ResolveBaseURL(environment, explicitURL string) (*url.URL, error) {
	if explicitURL != "" {
		return parseBaseURL(explicitURL)
	}
	if environment == "" {
		return nil, fmt.Errorf("no broker environment configured: set environment to one of %s, or set brokerUrl", strings.Join(EnvironmentNames(), ", "))
	}
	base, ok := Environments[strings.ToLower(strings.TrimSpace(environment))]
	if !ok {
		return nil, fmt.Errorf("unknown broker environment %q: use one of %s, or set brokerUrl", environment, strings.Join(EnvironmentNames(), ", "))
	}
	return parseBaseURL(base)
}

func parseBaseURL(s string) (*url.URL, error) {
	if len(s) > MaxURLLen {
		return nil, fmt.Errorf("broker url is longer than %d characters: check brokerUrl", MaxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("broker url %q is not a url (%v): give an https url such as %s", s, err, Environments["int"])
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("broker url %q must use https: the broker is only reached over verified tls", s)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("broker url %q has no host: give an https url such as %s", s, Environments["int"])
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("broker url %q must not carry user information, a query or a fragment: give only scheme, host, port and path", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// DefaultTimeout bounds each broker call (all its attempts) when the
// configuration does not say.
const DefaultTimeout = 30 * time.Second
