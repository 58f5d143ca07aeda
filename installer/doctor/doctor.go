// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package doctor finds what stops a smartcard login on this desktop and
// says, in one line each, how to fix it: it is what `oia doctor` runs.
//
// # Checks
//
// Each check is one entry of [Checks], a named function that reads an
// [Env] and returns [Finding]s:
//
//   - config: the configuration files used and any error in them
//   - versions: oia, oia-host (`oia-host --version`) and the extension
//   - registration: per browser, every host manifest (exists, parses, our
//     name, absolute path to an existing host, our extension ids), snap and
//     flatpak installations, and the browser policies that block native
//     hosts (NativeMessagingBlocklist, NativeMessagingUserLevelHosts)
//   - card: every configured PKCS#11 module loads, and a card is present
//   - broker: the broker answers over verified TLS
//   - log: where oia-host writes its log
//   - agent: the per-desktop agent runs and answers, with this package's
//     version and protocol (or none runs yet, which is fine)
//
// # Verdict
//
// [Report.OK] is true when no finding has status [Error]. A missing card is
// a [Warning] (the desktop is ready; the user has not inserted a card)
// unless [Env.RequireCard] is set. A browser that is not installed is not
// a problem; an installed one without a working registration is.
package doctor

import (
	"context"
	"slices"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/installer/register"
)

// Status is how a finding affects a login.
type Status string

// The statuses, from good to bad.
const (
	OK      Status = "ok"
	Info    Status = "info"
	Warning Status = "warning"
	Error   Status = "error"
)

// Finding is one result of a check. The JSON names are stable: scripts read
// them (docs/installer.md).
type Finding struct {
	// Check is the name of the check that made it.
	Check string `json:"check"`
	// Subject is what it is about: a browser and scope, a module path, a URL.
	Subject string `json:"subject,omitempty"`
	Status  Status `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail"`
	// Fix says what to do, in one line; empty when nothing needs doing.
	Fix string `json:"fix,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	// Version is oia's version.
	Version string `json:"version"`
	// OK is true when no finding is an error.
	OK       bool      `json:"ok"`
	Findings []Finding `json:"findings"`
}

// Env is what the checks read. Fields left nil get the real
// implementation from [Run], except Cards and Broker which the caller
// chooses (tests inject fakes).
type Env struct {
	// Register says which browsers, home, root and extension ids to check;
	// its ExtensionIDs are filled from the configuration when empty.
	Register register.Options
	// ConfigPaths are the configuration files to load.
	ConfigPaths config.Paths
	// HostPath is oia-host's path, for its version; empty skips it.
	HostPath string
	// HostVersion runs `oia-host --version`.
	HostVersion func(ctx context.Context, hostPath string) (string, error)
	// Cards loads PKCS#11 modules and lists tokens.
	Cards CardProber
	// Broker checks that the broker answers over verified TLS.
	Broker BrokerProber
	// Agent asks the running agent for its status; nil skips the check.
	Agent AgentProber
	// LogPath returns oia-host's log file location.
	LogPath func(*config.Config) (string, error)
	// Policy reads browser policies; nil means the files or registry of
	// this OS.
	Policy PolicyReader
	// RequireCard makes a missing card an error.
	RequireCard bool
	// Skip names checks not to run.
	Skip []string

	// cfg is the loaded configuration (nil when it failed to load).
	cfg *config.Config
}

// CardProber opens a PKCS#11 module and lists its tokens (inserted cards).
type CardProber interface {
	Tokens(module string) ([]string, error)
}

// BrokerProber checks that the broker answers over verified TLS, without
// creating any state on it.
type BrokerProber interface {
	Probe(ctx context.Context, cfg *config.Config) (detail string, err error)
}

// Check is one named check.
type Check struct {
	Name string
	Run  func(ctx context.Context, e *Env) []Finding
}

// Checks lists the checks in the order they run; config comes first
// because the others read the configuration.
var Checks = []Check{
	{"config", checkConfig},
	{"versions", checkVersions},
	{"registration", checkRegistration},
	{"card", checkCard},
	{"broker", checkBroker},
	{"log", checkLog},
	{"agent", checkAgent},
}

// CheckNames lists the names of [Checks].
func CheckNames() []string {
	var n []string
	for _, c := range Checks {
		n = append(n, c.Name)
	}
	return n
}

// Run runs every check not in e.Skip and returns the report.
func Run(ctx context.Context, e *Env) Report {
	if e.HostVersion == nil {
		e.HostVersion = hostVersion
	}
	if e.Policy == nil {
		e.Policy = defaultPolicyReader(e.Register)
	}
	r := Report{Version: oia.Version, OK: true}
	for _, c := range Checks {
		if slices.Contains(e.Skip, c.Name) && c.Name != "config" {
			continue
		}
		fs := c.Run(ctx, e)
		if slices.Contains(e.Skip, c.Name) {
			continue // config always loads; its findings can be skipped
		}
		for _, f := range fs {
			f.Check = c.Name
			if f.Status == Error {
				r.OK = false
			}
			r.Findings = append(r.Findings, f)
		}
	}
	return r
}
