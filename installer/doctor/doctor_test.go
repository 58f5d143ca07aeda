// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/installer/register"
)

// brokerServer starts an HTTPS server with a certificate from a fresh test
// PKI and returns its URL and the PKI's root bundle file.
func brokerServer(t *testing.T) (url, bundle string, hits *int) {
	t.Helper()
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.IssueServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if r.Method != http.MethodHead {
			t.Errorf("doctor sent %s; only HEAD leaves no state on the broker", r.Method)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	bundle = filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(bundle, testpki.CertPEM(pki.Root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv.URL, bundle, &n
}

// TestTLSProber checks the broker probe against a real HTTPS server: it
// passes with the test root in caBundle and fails without it.
func TestTLSProber(t *testing.T) {
	url, bundle, hits := brokerServer(t)
	cfg := config.Default()
	cfg.BrokerURL = url
	cfg.CABundle = bundle

	detail, err := TLSProber{}.Probe(context.Background(), cfg)
	if err != nil {
		t.Fatalf("probe with the root: %v", err)
	}
	if !strings.Contains(detail, "verified TLS") || *hits != 1 {
		t.Fatalf("detail %q, %d requests", detail, *hits)
	}

	cfg.CABundle = ""
	_, err = TLSProber{}.Probe(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("probe without the root: err = %v, want an untrusted certificate", err)
	}
	if *hits != 1 {
		t.Fatal("the untrusted server got a request")
	}
}

type fakeCards map[string][]string

func (f fakeCards) Tokens(module string) ([]string, error) {
	t, ok := f[module]
	if !ok {
		return nil, errors.New("cannot load " + module)
	}
	return t, nil
}

func TestCheckCard(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "p11.so")
	tests := []struct {
		name        string
		cards       fakeCards
		requireCard bool
		want        Status
	}{
		// The desktop is ready; the user has not inserted the card yet.
		{"no card", fakeCards{mod: nil}, false, Warning},
		// Scripts checking a full login ask for the card.
		{"no card required", fakeCards{mod: nil}, true, Error},
		{"card", fakeCards{mod: {"card 1"}}, false, OK},
		// A configured module that does not load stops every login.
		{"module fails", fakeCards{}, false, Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.PKCS11Modules, cfg.DefaultModules = []string{mod}, false
			e := &Env{Cards: tt.cards, RequireCard: tt.requireCard, cfg: cfg}
			worst := OK
			for _, f := range checkCard(context.Background(), e) {
				if rank(f.Status) > rank(worst) {
					worst = f.Status
				}
			}
			if worst != tt.want {
				t.Fatalf("worst status %s, want %s", worst, tt.want)
			}
		})
	}
}

func rank(s Status) int {
	return map[Status]int{OK: 0, Info: 0, Warning: 1, Error: 2}[s]
}

func TestChromiumVerdict(t *testing.T) {
	tests := []struct {
		name                  string
		values                map[string]any
		blocked, userLevelOff bool
	}{
		{"no policy", nil, false, false},
		{"block all", map[string]any{"NativeMessagingBlocklist": []any{"*"}}, true, false},
		// The allow-list exempts our host from a blanket block.
		{"block all, allow ours", map[string]any{"NativeMessagingBlocklist": []any{"*"}, "NativeMessagingAllowlist": []any{"org.openidentityagent.host"}}, false, false},
		{"block ours", map[string]any{"NativeMessagingBlocklist": []any{"org.openidentityagent.host"}}, true, false},
		{"user level off", map[string]any{"NativeMessagingUserLevelHosts": false}, false, true},
		// The Windows registry holds booleans as DWORDs.
		{"user level off dword", map[string]any{"NativeMessagingUserLevelHosts": float64(0)}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, u := chromiumVerdict(Policy{Values: tt.values})
			if b != tt.blocked || u != tt.userLevelOff {
				t.Fatalf("verdict (%v, %v), want (%v, %v)", b, u, tt.blocked, tt.userLevelOff)
			}
		})
	}
}

func TestFirefoxBlocked(t *testing.T) {
	id := "identity-agent@openidentityagent.org"
	tests := []struct {
		name string
		es   any
		want bool
	}{
		{"none", nil, false},
		{"all blocked", map[string]any{"*": map[string]any{"installation_mode": "blocked"}}, true},
		// An entry for our id overrides "*".
		{"all blocked, ours forced", map[string]any{"*": map[string]any{"installation_mode": "blocked"}, id: map[string]any{"installation_mode": "force_installed"}}, false},
		// GPO stores ExtensionSettings as JSON text.
		{"registry string", `{"` + id + `":{"installation_mode":"blocked"}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := firefoxBlocked(Policy{Values: map[string]any{"ExtensionSettings": tt.es}}, id); got != tt.want {
				t.Fatalf("blocked = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRun_ConfigError: a broken configuration is an error finding, and
// the checks that need it do not run on defaults.
func TestRun_ConfigError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "config.json")
	if err := os.WriteFile(bad, []byte(`{"pkcs11Modules": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), &Env{
		Register:    register.Options{Home: dir, Root: dir},
		ConfigPaths: config.Paths{System: bad, TrustUser: true},
		Cards:       fakeCards{},
		Skip:        []string{"versions", "registration"},
	})
	if r.OK {
		t.Fatal("report OK with a broken configuration")
	}
	for _, f := range r.Findings {
		if f.Check == "card" || f.Check == "broker" {
			t.Errorf("check %s ran without a configuration: %+v", f.Check, f)
		}
	}
	if !strings.Contains(r.Findings[len(r.Findings)-1].Detail, "config.json") {
		t.Errorf("the error does not name the file: %+v", r.Findings)
	}
}

// fakeRegistry is an in-memory Windows registry.
type fakeRegistry map[string]string

func (f fakeRegistry) Get(system bool, key string) (string, bool, error) {
	v, ok := f[fmt.Sprint(system, key)]
	return v, ok, nil
}
func (f fakeRegistry) Set(system bool, key, value string) error {
	f[fmt.Sprint(system, key)] = value
	return nil
}
func (f fakeRegistry) Delete(system bool, key string) error {
	delete(f, fmt.Sprint(system, key))
	return nil
}

// TestRegistration_WindowsKey: on Windows a manifest file is not enough;
// the browser finds it only through the registry key.
func TestRegistration_WindowsKey(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LOCALAPPDATA": filepath.Join(dir, "Local")}
	host := filepath.Join(dir, "oia-host.exe")
	os.WriteFile(host, nil, 0o755)
	reg := fakeRegistry{}
	o := register.Options{OS: "windows", Home: dir, Getenv: func(k string) string { return env[k] }, Registry: reg,
		HostPath: host, ExtensionIDs: []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha"}, Browsers: []string{"chrome"}, Force: true}
	if _, err := register.Install(o); err != nil {
		t.Fatal(err)
	}
	e := &Env{Register: o, Policy: filePolicyReader{}}
	status := func() Status {
		worst := OK
		for _, f := range checkRegistration(context.Background(), e) {
			if rank(f.Status) > rank(worst) {
				worst = f.Status
			}
		}
		return worst
	}
	if s := status(); s != OK {
		t.Fatalf("registered: worst status %s", s)
	}
	for k := range reg {
		reg[k] = `C:\elsewhere\org.openidentityagent.host.json`
	}
	if s := status(); s != Error {
		t.Fatalf("key pointing elsewhere: worst status %s, want error", s)
	}
}

// TestRun_ConfigTrust: a system file users can change is an error that
// names the fix, and each security key from the user file is a warning.
func TestRun_ConfigTrust(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.json")
	if err := os.WriteFile(sys, []byte(`{"allowedOrigins":["https://x.example"]}`), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sys, 0o666); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(dir, "user.json")
	if err := os.WriteFile(user, []byte(`{"brokerEnvironment":"int"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), &Env{
		Register:    register.Options{Home: dir, Root: dir},
		ConfigPaths: config.Paths{System: sys, User: user, TrustUser: true},
		Cards:       fakeCards{},
		Skip:        []string{"versions", "registration", "card", "broker"},
	})
	var unsafe, userKey bool
	for _, f := range r.Findings {
		unsafe = unsafe || (f.Status == Error && strings.Contains(f.Detail, "can be written by every user") && f.Fix != "")
	}
	if r.OK || !unsafe {
		t.Errorf("no error for a world-writable system file: %+v", r.Findings)
	}
	r = Run(context.Background(), &Env{
		Register:    register.Options{Home: dir, Root: dir},
		ConfigPaths: config.Paths{System: filepath.Join(dir, "none.json"), User: user},
		Cards:       fakeCards{},
		Skip:        []string{"versions", "registration", "card", "broker"},
	})
	for _, f := range r.Findings {
		userKey = userKey || (f.Status == Warning && strings.Contains(f.Detail, "security key brokerEnvironment comes from the user file"))
	}
	if !userKey {
		t.Errorf("no warning for the user's brokerEnvironment: %+v", r.Findings)
	}
}
