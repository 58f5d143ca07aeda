// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/host/protocol"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad_Defaults(t *testing.T) {
	c, err := Load(Paths{System: filepath.Join(t.TempDir(), "missing.json")})
	if err != nil {
		t.Fatal(err)
	}
	if c.BrokerEnvironment != "live" || !c.PromptOnCardInsert || c.PINTimeoutSeconds != 120 || c.SignatureHash != "sha1" {
		t.Errorf("defaults: %+v", c)
	}
	if !c.Origins().Allows("https://spine.nhs.uk") || c.Origins().Allows("https://example.com") {
		t.Error("default allow-list is not https://*.nhs.uk")
	}
	if !c.ExtensionAllowed(ChromeDevExtensionID) || !c.ExtensionAllowed(FirefoxExtensionID) || c.ExtensionAllowed("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
		t.Error("default extension ids")
	}
	if u, err := c.BrokerBaseURL(); err != nil || u.Host != "gas.national.ncrs.nhs.uk" {
		t.Errorf("broker URL = %v, %v", u, err)
	}
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		name, body, wantKey string
	}{
		{"an unknown key is named, with the known ones", `{"alowedOrigins":[]}`, "alowedOrigins"},
		{"a wrong type names the key", `{"pinTimeoutSeconds":"120"}`, "pinTimeoutSeconds"},
		{"a bad origin pattern", `{"allowedOrigins":["http://*.nhs.uk"]}`, "allowedOrigins"},
		{"an unknown environment", `{"brokerEnvironment":"prod"}`, "brokerEnvironment"},
		{"a broker URL must be https", `{"brokerURL":"http://gas.example"}`, "brokerURL"},
		{"a relative module path could load anything from the working directory", `{"pkcs11Modules":["opensc.so"]}`, "pkcs11Modules"},
		{"a timeout out of range", `{"pinTimeoutSeconds":5}`, "pinTimeoutSeconds"},
		{"an extension id of neither form", `{"allowedExtensions":["not an id"]}`, "allowedExtensions"},
		{"a log level", `{"logLevel":"verbose"}`, "logLevel"},
		{"a broker timeout of zero would fail every call", `{"brokerTimeoutSeconds":0}`, "brokerTimeoutSeconds"},
		{"not an object", `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, "user.json", tt.body)
			_, err := Load(Paths{User: p})
			if err == nil {
				t.Fatal("loaded")
			}
			if protocol.CodeOf(err) != protocol.CodeConfigInvalid {
				t.Errorf("code %s, want CONFIG_INVALID", protocol.CodeOf(err))
			}
			if !strings.Contains(err.Error(), p) || (tt.wantKey != "" && !strings.Contains(err.Error(), "key "+tt.wantKey)) {
				t.Errorf("error does not name the file and key: %v", err)
			}
		})
	}
}

func TestDefaultPaths_Environment(t *testing.T) {
	t.Setenv("OIA_SYSTEM_CONFIG", "/tmp/s.json")
	t.Setenv("OIA_CONFIG", "/tmp/u.json")
	if p := DefaultPaths(); p.System != "/tmp/s.json" || p.User != "/tmp/u.json" || !p.TrustUser {
		t.Errorf("DefaultPaths = %+v: a development build follows both variables", p)
	}
	buildKind = "release"
	t.Cleanup(func() { buildKind = "development" })
	if p := DefaultPaths(); p.System != systemPath() || p.User != "/tmp/u.json" || p.TrustUser {
		t.Errorf("release DefaultPaths = %+v: a release build must read the machine's own system file", p)
	}
}

// FuzzLoad: no file content may panic the loader; what it accepts is valid.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"allowedOrigins":["https://*.nhs.uk"],"pinTimeoutSeconds":60}`))
	f.Add([]byte(`{"pkcs11Modules":["/usr/lib/x.so"],"logLevel":"debug"}`))
	f.Add([]byte(`{"brokerURL":"https://gas.example:8443/base"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := c.apply("fuzz.json", data, false, func() (string, error) { return "", nil }); err != nil {
			return
		}
		if _, err := c.BrokerBaseURL(); err != nil {
			t.Fatalf("accepted a config whose broker URL does not resolve: %v", err)
		}
		if c.PINTimeoutSeconds < protocol.MinPINTimeoutSeconds {
			t.Fatal("accepted a timeout out of range")
		}
	})
}

// TestBuiltInExtensions: a release build trusts the ids it was linked with
// and never the development id; a development build trusts the dev ids.
func TestBuiltInExtensions(t *testing.T) {
	if got := BuiltInExtensions(); !slices.Contains(got, ChromeDevExtensionID) {
		t.Errorf("development build: %v", got)
	}
	buildKind, releaseExtensions = "release", "abcdefghijklmnopabcdefghijklmnop, identity-agent@openidentityagent.org,not an id"
	t.Cleanup(func() { buildKind, releaseExtensions = "development", "" })
	got := BuiltInExtensions()
	if !slices.Equal(got, []string{"abcdefghijklmnopabcdefghijklmnop", FirefoxExtensionID}) {
		t.Errorf("release build: %v", got)
	}
	if c := Default(); c.ExtensionAllowed(ChromeDevExtensionID) {
		t.Error("a release build's defaults trust the development id")
	}
}

// TestFrameRequestAllowed: the host's locked allowFrames wins over what a
// browser policy told the extension.
func TestFrameRequestAllowed(t *testing.T) {
	tests := []struct {
		name          string
		frames, lock  bool
		frame, wantOK bool
	}{
		{"a top document is always served", false, true, false, true},
		{"IT locked frames off: a policy that allows frames does not open them", false, true, true, false},
		{"IT locked frames on", true, true, true, true},
		{"not locked: the extension's check (policy, else the host's value) stands", false, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.AllowFrames, c.Locked["allowFrames"] = tt.frames, tt.lock
			if got := c.FrameRequestAllowed(tt.frame); got != tt.wantOK {
				t.Errorf("FrameRequestAllowed(%v) = %v", tt.frame, got)
			}
		})
	}
}

// TestCheckSystemFile: what oia configure checks before it writes the
// system file is what Load refuses in it.
func TestCheckSystemFile(t *testing.T) {
	tests := []struct {
		name, data string
		wantErr    bool
	}{
		{"the keys the MSI sets", `{"brokerEnvironment":"int","allowedOrigins":["https://*.example.nhs.uk"]}`, false},
		{"an unknown environment would stop every login", `{"brokerEnvironment":"production"}`, true},
		{"a plain-http origin is never allowed", `{"allowedOrigins":["http://a.nhs.uk"]}`, true},
		{"an unknown key is a typing mistake", `{"brokerEnv":"int"}`, true},
		{"a list is not an object", `[1]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSystemFile("config.json", []byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
