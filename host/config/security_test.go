// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/host/protocol"
)

// writeMode writes body to name in dir with mode perm.
func writeMode(t *testing.T, dir, name, body string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

// TestLoad_SecurityKeys: what a user file can and cannot change, for each
// group of security keys and each bypass issue 16 found.
func TestLoad_SecurityKeys(t *testing.T) {
	const evil = `"brokerURL":"https://evil.example.com","caBundle":"/tmp/x.pem","pkcs11Modules":["/tmp/evil.so"],"allowFrames":true`
	tests := []struct {
		name       string
		system     string // "" for none
		user       string
		userMode   os.FileMode
		check      func(c *Config) string // "" when the result is right
		wantNotes  int
		wantUserSK []string
	}{
		{
			name:   "the reviewers' bypass: IT locked the environment and origins, a shared user file re-points the broker",
			system: `{"brokerEnvironment":"live","allowedOrigins":["https://*.nhs.uk"]}`,
			user:   `{` + evil + `}`, userMode: 0o644,
			check: func(c *Config) string {
				if c.BrokerURL != "" || c.CABundle != "" || c.AllowFrames || !c.DefaultModules {
					return "a user-writable file changed the broker, its trust, the modules or frames"
				}
				return ""
			},
			wantNotes: 4,
		},
		{
			name:   "the broker is one group: an environment set by IT locks brokerURL and caBundle even in a private file",
			system: `{"brokerEnvironment":"int"}`,
			user:   `{"brokerURL":"https://evil.example.com","caBundle":"/tmp/x.pem"}`, userMode: 0o600,
			check: func(c *Config) string {
				if c.BrokerURL != "" || c.CABundle != "" {
					return "the user's file re-pointed the broker IT chose"
				}
				return ""
			},
			wantNotes: 2,
		},
		{
			name:   "a broker URL set by IT locks the environment too",
			system: `{"brokerURL":"https://gas.trust.nhs.uk"}`,
			user:   `{"brokerEnvironment":"dev"}`, userMode: 0o600,
			check: func(c *Config) string {
				if c.BrokerEnvironment != "live" {
					return "the user changed the environment beside IT's broker URL"
				}
				return ""
			},
			wantNotes: 1,
		},
		{
			name: "with no system file, a private user file may set the broker, its CA and the modules, each with a warning",
			user: `{` + evil + `}`, userMode: 0o600,
			check: func(c *Config) string {
				if c.BrokerURL != "https://evil.example.com" || c.CABundle != "/tmp/x.pem" || !c.AllowFrames || c.DefaultModules {
					return "a private user file's security keys did not apply"
				}
				return ""
			},
			wantUserSK: []string{"allowFrames", "brokerURL", "caBundle", "pkcs11Modules"},
		},
		{
			name: "with no system file, a user file others can read may not load a module",
			user: `{"pkcs11Modules":["/tmp/evil.so"]}`, userMode: 0o644,
			check: func(c *Config) string {
				if !c.DefaultModules {
					return "a module from a shared user file would load into the host"
				}
				return ""
			},
			wantNotes: 1,
		},
		{
			name: "a group-writable user file may not allow frames or widen origins",
			user: `{"allowFrames":true,"allowedOrigins":["https://evil.example"]}`, userMode: 0o660,
			check: func(c *Config) string {
				if c.AllowFrames || c.Origins().Allows("https://evil.example") {
					return "a shared user file loosened frames or origins"
				}
				return ""
			},
			wantNotes: 2,
		},
		{
			name:   "lists set by IT are narrowed, never widened, whatever the file's mode",
			system: `{"allowedOrigins":["https://a.nhs.uk","https://b.nhs.uk"]}`,
			user:   `{"allowedOrigins":["https://b.nhs.uk","https://evil.example"]}`, userMode: 0o600,
			check: func(c *Config) string {
				if !slices.Equal(c.AllowedOrigins, []string{"https://b.nhs.uk"}) {
					return "allowedOrigins = " + strings.Join(c.AllowedOrigins, ",")
				}
				return ""
			},
			wantNotes: 1,
		},
		{
			name: "keys that decide no trust apply from any user file",
			user: `{"pinTimeoutSeconds":60,"logLevel":"debug"}`, userMode: 0o644,
			check: func(c *Config) string {
				if c.PINTimeoutSeconds != 60 || c.LogLevel != "debug" {
					return "a plain user key did not apply"
				}
				return ""
			},
		},
		{
			name:   "a system file every user can write is ignored: the defaults apply and are locked",
			system: "unsafe",
			user:   `{` + evil + `}`, userMode: 0o600,
			check: func(c *Config) string {
				if protocol.CodeOf(c.Unsafe) != protocol.CodeConfigUnsafe {
					return "no CONFIG_UNSAFE"
				}
				if c.BrokerURL != "" || c.AllowFrames || !c.DefaultModules || c.Origins().Allows("https://x.example") {
					return "the planted file, or the user file, changed what the host trusts"
				}
				if !c.Locked["allowedOrigins"] || !c.Locked["brokerURL"] {
					return "the defaults are not locked against a browser policy"
				}
				return ""
			},
			wantNotes: 1 + 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var p Paths
			p.TrustUser = true
			switch tt.system {
			case "":
			case "unsafe":
				p.System = writeMode(t, dir, "system.json", `{"allowedOrigins":["https://x.example"],"pkcs11Modules":["/tmp/evil.so"]}`, 0o666)
			default:
				p.System = writeMode(t, dir, "system.json", tt.system, 0o644)
			}
			p.User = writeMode(t, dir, "user.json", tt.user, tt.userMode)
			c, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("%s\n%s", msg, c.Describe())
			}
			if len(c.Notes) != tt.wantNotes {
				t.Errorf("notes = %q, want %d", c.Notes, tt.wantNotes)
			}
			if !slices.Equal(c.UserSecurity, tt.wantUserSK) {
				t.Errorf("UserSecurity = %v, want %v", c.UserSecurity, tt.wantUserSK)
			}
			d := c.Describe()
			for _, k := range tt.wantUserSK {
				if !strings.Contains(d, "warning: security key "+k+" comes from the user file") {
					t.Errorf("Describe does not warn about %s:\n%s", k, d)
				}
			}
		})
	}
}

// TestCheckFile_Unix: the ownership and mode rule on real files and folders.
func TestCheckFile_Unix(t *testing.T) {
	tests := []struct {
		name     string
		dirMode  os.FileMode
		fileMode os.FileMode
		o        checkOptions
		wantOK   bool
	}{
		{"a file only its owner writes, in a folder only its owner writes", 0o755, 0o644, checkOptions{trustUser: true}, true},
		{"a world-writable file can be rewritten by anyone", 0o755, 0o646, checkOptions{trustUser: true}, false},
		{"a group-writable file can be rewritten by the group", 0o755, 0o664, checkOptions{trustUser: true}, false},
		{"a world-writable folder lets anyone replace the file", 0o777, 0o644, checkOptions{trustUser: true}, false},
		{"a sticky world-writable folder (like /tmp) keeps the file its owner's", os.ModeSticky | 0o777, 0o644, checkOptions{trustUser: true}, true},
		{"a private user file may be read by its owner alone", 0o700, 0o644, checkOptions{trustUser: true, private: true}, false},
		{"a private user file at 0600", 0o700, 0o600, checkOptions{trustUser: true, private: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "oia")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			f := writeMode(t, dir, "config.json", "{}", tt.fileMode)
			if os.Getuid() == 0 { // root's files are in group 0, whose writes are an administrator's
				if err := os.Chown(f, -1, 65534); err != nil {
					t.Fatal(err)
				}
			}
			problem, err := checkFile(f, tt.o, checkPath)
			if err != nil {
				t.Fatal(err)
			}
			if (problem == "") != tt.wantOK {
				t.Errorf("problem = %q, want ok=%v", problem, tt.wantOK)
			}
		})
	}
}

// TestUnixProblem_Owner: the owner half of the rule, which a test not
// running as root cannot make real files for.
func TestUnixProblem_Owner(t *testing.T) {
	tests := []struct {
		name     string
		uid, gid uint32
		o        checkOptions
		wantOK   bool
	}{
		{"root owns the machine's file", 0, 0, checkOptions{}, true},
		{"a user's own system file is refused outside a development override", 1000, 1000, checkOptions{}, false},
		{"a development build pointed at the user's file accepts them", 1000, 1000, checkOptions{trustUser: true}, true},
		{"another user's file is never accepted", 1001, 1001, checkOptions{trustUser: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := uint32(0)
			if tt.o.trustUser {
				user = 1000
			}
			got := unixProblem(0o644, tt.uid, tt.gid, true, tt.o, user)
			if (got == "") != tt.wantOK {
				t.Errorf("problem = %q, want ok=%v", got, tt.wantOK)
			}
		})
	}
	if p := unixProblem(0o775|os.ModeDir, 0, 0, false, checkOptions{}, 0); p != "" {
		t.Errorf("a folder the administrators' group may write is refused: %s", p)
	}
	if p := unixProblem(0o775|os.ModeDir, 0, 100, false, checkOptions{}, 0); p == "" {
		t.Error("a folder group 100 may write is accepted")
	}
}

// TestLoad_SymlinkedSystemFile: a link in a trusted place to a file the user
// controls is judged by the file it reaches.
func TestLoad_SymlinkedSystemFile(t *testing.T) {
	dir := t.TempDir()
	target := writeMode(t, dir, "planted.json", `{"allowedOrigins":["https://x.example"]}`, 0o666)
	link := filepath.Join(dir, "config.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Paths{System: link, TrustUser: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Unsafe == nil || c.Origins().Allows("https://x.example") {
		t.Errorf("a link to a world-writable file was trusted: %s", c.Describe())
	}
}
