// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package windows

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/wine"
)

// hostName is the native-messaging host's name.
const hostName = "org.openidentityagent.host"

// The browsers the tests read back, with their registry keys
// (docs/installer.md, "Where manifests go").
var regKeys = map[string]string{
	"chrome":  `Software\Google\Chrome\NativeMessagingHosts`,
	"edge":    `Software\Microsoft\Edge\NativeMessagingHosts`,
	"firefox": `Software\Mozilla\NativeMessagingHosts`,
}

// manifest is the part of a host manifest the tests read.
type manifest struct {
	Name              string   `json:"name"`
	Path              string   `json:"path"`
	Type              string   `json:"type"`
	AllowedOrigins    []string `json:"allowed_origins"`
	AllowedExtensions []string `json:"allowed_extensions"`
}

// TestInstall: `oia install` and `oia install --system` write the manifest
// files and the HKCU and HKLM keys for Chrome, Edge and Firefox, read back
// with reg query; `oia status --json` and `oia doctor --json` find them;
// `oia uninstall` removes ours and leaves another product's keys beside
// them.
func TestInstall(t *testing.T) {
	p := newPrefix(t)
	ctx := ctxFor(t)
	// Another product's keys, beside where ours go.
	foreign := map[string]string{
		`HKCU\` + regKeys["chrome"] + `\com.example.other`:  `C:\Other\chrome.json`,
		`HKLM\` + regKeys["firefox"] + `\com.example.other`: `C:\Other\firefox.json`,
	}
	for k, v := range foreign {
		if err := p.RegAdd(ctx, k, "", "REG_SZ", v); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"--extension-id", chromeID, "--extension-id", firefoxID}
	// Wine reports every file as owned by its one user, never by
	// Administrators, so --system refuses oia-host.exe unless a staging
	// --root makes the current user an accepted owner (docs/installer.md,
	// "Tested under Wine"). The registry keys are written to HKLM all the
	// same.
	system := []string{"--system", "--root", `C:\stage`}
	oia := func(args ...string) wine.Result {
		t.Helper()
		r := run(t, p, oiaExe, wine.RunOptions{Args: args})
		if r.ExitCode != 0 {
			t.Fatalf("oia %s: exit %d\n%s%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
		}
		return r
	}
	if r := run(t, p, oiaExe, wine.RunOptions{Args: append([]string{"install", "--system", "--force"}, ids...)}); r.ExitCode == 0 || !strings.Contains(r.Stderr, "not by an administrator") {
		t.Errorf("install --system of a user-owned oia-host.exe: exit %d, stderr %q; want a refusal naming the owner", r.ExitCode, r.Stderr)
	}
	oia(append([]string{"install", "--force"}, ids...)...)
	oia(append(append([]string{"install", "--force"}, system...), ids...)...)

	dirs := map[string]string{
		"HKCU": p.LocalAppData() + `\OpenIdentityAgent\NativeMessagingHosts\`,
		"HKLM": installDir + `\NativeMessagingHosts\`,
	}
	for hive, dir := range dirs {
		for browser, key := range regKeys {
			k, err := p.RegQuery(ctx, hive+`\`+key+`\`+hostName)
			if err != nil {
				t.Errorf("%s %s: %v", hive, browser, err)
				continue
			}
			want := dir + browser + `\` + hostName + ".json"
			if v := k.Values[""]; v.Type != "REG_SZ" || v.Data != want {
				t.Errorf("%s %s: default value %+v, want REG_SZ %s", hive, browser, v, want)
			}
			b, err := os.ReadFile(p.MustPath(want))
			if err != nil {
				t.Errorf("%s %s: the manifest: %v", hive, browser, err)
				continue
			}
			var m manifest
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("%s: %v", want, err)
				continue
			}
			if m.Name != hostName || m.Type != "stdio" || m.Path != hostExe {
				t.Errorf("%s: %+v, want name %s, type stdio, path %s", want, m, hostName, hostExe)
			}
			if browser == "firefox" {
				if !slices.Equal(m.AllowedExtensions, []string{firefoxID}) || m.AllowedOrigins != nil {
					t.Errorf("%s: allowed_extensions %q, allowed_origins %q", want, m.AllowedExtensions, m.AllowedOrigins)
				}
			} else if !slices.Equal(m.AllowedOrigins, []string{devCaller}) || m.AllowedExtensions != nil {
				t.Errorf("%s: allowed_origins %q, allowed_extensions %q", want, m.AllowedOrigins, m.AllowedExtensions)
			}
		}
	}

	// oia status --json: registered, with the key, in both scopes.
	var status []struct {
		Browser, Scope, Status, Manifest, RegistryKey string
	}
	if err := json.Unmarshal([]byte(oia("status", "--json").Stdout), &status); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, s := range status {
		key, ok := regKeys[s.Browser]
		if !ok {
			continue
		}
		seen++
		if s.Status != "registered" || s.RegistryKey != key+`\`+hostName {
			t.Errorf("oia status: %+v", s)
		}
	}
	if seen != 6 {
		t.Errorf("oia status listed %d of the 6 registrations of chrome, edge and firefox: %+v", seen, status)
	}

	// oia doctor --json: every registration is found and ok. Its exit
	// status is not asked: with no card module and no broker it reports
	// errors elsewhere.
	r := run(t, p, oiaExe, wine.RunOptions{Args: []string{"doctor", "--json", "--skip", "broker", "--skip", "card", "--skip", "agent"}})
	var doc struct {
		Findings []struct{ Check, Subject, Status, Detail string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("oia doctor --json: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	for hive, dir := range dirs {
		for browser := range regKeys {
			manifest := dir + browser + `\` + hostName + ".json"
			i := slices.IndexFunc(doc.Findings, func(f struct{ Check, Subject, Status, Detail string }) bool {
				return f.Check == "registration" && strings.HasSuffix(f.Subject, " "+manifest)
			})
			if i < 0 {
				t.Errorf("oia doctor does not mention the %s manifest %s", hive, manifest)
			} else if f := doc.Findings[i]; f.Status != "ok" || !strings.Contains(f.Detail, hostExe) {
				t.Errorf("oia doctor on %s: %+v", manifest, f)
			}
		}
	}

	// oia uninstall: ours are gone, the other product's stay.
	oia(append([]string{"uninstall"}, ids...)...)
	oia(append([]string{"uninstall"}, system...)...)
	for hive, dir := range dirs {
		for browser, key := range regKeys {
			if _, err := p.RegQuery(ctx, hive+`\`+key+`\`+hostName); !errors.Is(err, wine.ErrNoKey) {
				t.Errorf("%s %s after uninstall: %v, want the key gone", hive, browser, err)
			}
			if _, err := os.Stat(p.MustPath(dir + browser + `\` + hostName + ".json")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s %s manifest after uninstall: %v, want it gone", hive, browser, err)
			}
		}
	}
	for k, v := range foreign {
		got, err := p.RegQuery(ctx, k)
		if err != nil || got.Values[""].Data != v {
			t.Errorf("another product's key %s after our uninstall: %+v, %v", k, got.Values, err)
		}
	}
}
