// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package register

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/manifests"
)

// fakeRegistry is an in-memory Windows registry for unit tests.
type fakeRegistry map[string]string

var _ Registry = fakeRegistry(nil)

func regKey(system bool, key string) string {
	if system {
		return `HKLM\` + key
	}
	return `HKCU\` + key
}

func (f fakeRegistry) Get(system bool, key string) (string, bool, error) {
	v, ok := f[regKey(system, key)]
	return v, ok, nil
}

func (f fakeRegistry) Set(system bool, key, value string) error {
	f[regKey(system, key)] = value
	return nil
}

func (f fakeRegistry) Delete(system bool, key string) error {
	delete(f, regKey(system, key))
	return nil
}

// TestWindows checks the Windows rows through a fake registry: the manifest
// goes to our folder and the browser's key points at it; uninstall removes
// both, and leaves a key that points elsewhere.
func TestWindows(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"LOCALAPPDATA": filepath.Join(dir, "AppData", "Local"),
		"ProgramFiles": filepath.Join(dir, "Program Files"),
	}
	chrome := filepath.Join(env["ProgramFiles"], "Google", "Chrome", "Application", "chrome.exe")
	if err := os.MkdirAll(filepath.Dir(chrome), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chrome, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := fakeRegistry{}
	o := Options{OS: "windows", Home: dir, Getenv: func(k string) string { return env[k] }, Registry: reg,
		HostPath: `C:\Program Files\OIA\oia-host.exe`, ExtensionIDs: []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha"}}

	res, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, r := range res {
		got[r.Browser] = r.Status
	}
	if got["chrome"] != Registered || got["edge"] != SkippedNotInstalled {
		t.Fatalf("statuses = %v, want chrome registered, edge skipped", got)
	}
	key := `HKCU\Software\Google\Chrome\NativeMessagingHosts\org.openidentityagent.host`
	want := filepath.Join(env["LOCALAPPDATA"], "OpenIdentityAgent", "NativeMessagingHosts", "chrome", manifests.FileName)
	if reg[key] != want {
		t.Fatalf("registry %s = %q, want %q", key, reg[key], want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"path": "C:\\Program Files\\OIA\\oia-host.exe"`) {
		t.Fatalf("manifest does not hold the escaped Windows path:\n%s", b)
	}

	// A missing registry key makes an otherwise identical install "updated".
	delete(reg, key)
	res, _ = Install(o)
	if res[0].Status != Updated || reg[key] != want {
		t.Fatalf("after losing the key: status %s, key %q", res[0].Status, reg[key])
	}

	// Firefox's key pointing elsewhere is not ours: uninstall keeps it.
	ffKey := `HKCU\Software\Mozilla\NativeMessagingHosts\org.openidentityagent.host`
	reg[ffKey] = `C:\elsewhere\host.json`
	if _, err := Uninstall(o); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg[key]; ok {
		t.Fatal("uninstall left the Chrome key")
	}
	if reg[ffKey] != `C:\elsewhere\host.json` {
		t.Fatal("uninstall removed a key it did not write")
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Fatalf("uninstall left the manifest: %v", err)
	}
}

// TestTargets_Table checks that every OS has every browser, in both
// scopes, and that the table is internally consistent.
func TestTargets_Table(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, b := range Browsers() {
			n := 0
			for _, l := range Locations {
				if l.OS != goos || l.Browser != b {
					continue
				}
				n++
				if len(l.UserDirs) == 0 || len(l.SystemDirs) == 0 || len(l.Detect) == 0 {
					t.Errorf("%s/%s: missing dirs or detection", goos, b)
				}
				if (goos == "windows") != (l.RegistryKey != "") {
					t.Errorf("%s/%s: registry key %q only on Windows", goos, b, l.RegistryKey)
				}
				if (b == "firefox") != (l.Family == manifests.Firefox) {
					t.Errorf("%s/%s: family %s", goos, b, l.Family)
				}
			}
			if n != 1 {
				t.Errorf("%s/%s: %d rows, want 1", goos, b, n)
			}
		}
	}
}

// TestTargets_Darwin resolves macOS paths under a fake home and root.
func TestTargets_Darwin(t *testing.T) {
	ts, err := Targets(Options{OS: "darwin", Home: "/Users/u", Root: "/r", Browsers: []string{"chrome"}}, User, System)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/Users/u/Library/Application Support/Google/Chrome/NativeMessagingHosts/org.openidentityagent.host.json",
		"/r/Library/Google/Chrome/NativeMessagingHosts/org.openidentityagent.host.json",
	}
	if len(ts) != 2 || ts[0].File != want[0] || ts[1].File != want[1] {
		t.Fatalf("targets = %+v, want files %q", ts, want)
	}
	if ts[1].BrowserPath != "/Library/Google/Chrome/NativeMessagingHosts/org.openidentityagent.host.json" {
		t.Fatalf("browser path %q still has the root", ts[1].BrowserPath)
	}
}

// TestTargets_XDG: the Chromium family's user dirs follow $XDG_CONFIG_HOME
// unless --home is given.
func TestTargets_XDG(t *testing.T) {
	env := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return "/xdg"
		}
		return ""
	}
	ts, err := Targets(Options{OS: "linux", Getenv: env, Browsers: []string{"chromium"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ts[0].File, "/xdg/chromium/") {
		t.Fatalf("file %s ignores XDG_CONFIG_HOME", ts[0].File)
	}
}

// TestInstall_Snap: a snap browser counts as installed and is flagged.
func TestInstall_Snap(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "snap", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "snap", "bin", "firefox"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	ts, err := Targets(Options{OS: "linux", Home: t.TempDir(), Root: root, Browsers: []string{"firefox"}})
	if err != nil {
		t.Fatal(err)
	}
	if !ts[0].Installed || len(ts[0].Sandboxes) != 1 || ts[0].Sandboxes[0] != "snap" {
		t.Fatalf("target = %+v, want installed snap", ts[0])
	}
}
