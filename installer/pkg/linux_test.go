// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pkg

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/manifests"
)

var testIDs = []string{"jojkkadnmnpkbklmagcdhigmbdlcaoha", "identity-agent@openidentityagent.org"}

// fakeInputs writes small stand-ins for the binaries: these tests check the
// package's layout and bytes, not the programs (TestDebInstall uses the
// real ones).
func fakeInputs(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	o := Options{Version: "0.1.0", Arch: "amd64", ExtensionIDs: testIDs, MTime: time.Unix(1700000000, 0).UTC(),
		Host: filepath.Join(dir, "oia-host"), OIA: filepath.Join(dir, "oia"), License: filepath.Join(dir, "LICENSE")}
	for _, p := range []string{o.Host, o.OIA, o.License} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+filepath.Base(p)+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// TestLinux_Reproducible builds each package twice, with the inputs'
// timestamps changed in between, and expects the same bytes.
func TestLinux_Reproducible(t *testing.T) {
	o := fakeInputs(t)
	for _, f := range []string{"deb", "rpm"} {
		t.Run(f, func(t *testing.T) {
			p1, err := Linux(f, o, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			os.Chtimes(o.Host, now, now)
			p2, err := Linux(f, o, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(p1)
			b, _ := os.ReadFile(p2)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s differs between two builds", f)
			}
		})
	}
}

// TestLinux_DebContents lists the .deb with dpkg-deb and checks every
// browser's system manifest is in it, with mode 0644.
func TestLinux_DebContents(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	p, err := Linux("deb", fakeInputs(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("dpkg-deb", "-c", p).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, out)
	}
	mf, _ := ManifestFiles("deb", testIDs)
	want := []string{"-rwxr-xr-x root/root .* ./usr/bin/oia-host$", "-rwxr-xr-x root/root .* ./usr/bin/oia$",
		"drwxr-xr-x root/root .* ./etc/oia/$",                                              // the host trusts a system file only in a folder root alone writes
		"-rw-r--r-- root/root .* ./etc/xdg/autostart/org.openidentityagent.agent.desktop$"} // the agent starts with the desktop
	for d := range mf {
		want = append(want, "-rw-r--r-- root/root .* ."+d+"$")
	}
	for _, w := range want {
		if !matchLine(string(out), w) {
			t.Errorf("no line matching %q in:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "lib64") {
		t.Error("the .deb ships /usr/lib64, which Debian's Firefox does not read")
	}
}

// TestLinux_TicketAPI: the Ticket API library, when given, lands where the
// loader looks, with mode 0644; without it the packages still build.
func TestLinux_TicketAPI(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	o := fakeInputs(t)
	o.TicketAPI = filepath.Join(t.TempDir(), "libTicketApi.so")
	if err := os.WriteFile(o.TicketAPI, []byte("not really a library"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Linux("deb", o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("dpkg-deb", "-c", p).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, out)
	}
	if w := "-rw-r--r-- root/root .* ./usr/lib/x86_64-linux-gnu/libTicketApi.so$"; !matchLine(string(out), w) {
		t.Errorf("no line matching %q in:\n%s", w, out)
	}
	if got := TicketAPIPath("rpm", "amd64"); got != "/usr/lib64/libTicketApi.so" {
		t.Errorf("rpm path %s", got)
	}
	o.TicketAPI = filepath.Join(t.TempDir(), "missing.so")
	if _, err := Linux("rpm", o, t.TempDir()); err == nil {
		t.Error("a missing library did not fail the package")
	}
}

// TestManifestFiles: each shipped manifest points at /usr/bin/oia-host and
// lists the ids for its family.
func TestManifestFiles(t *testing.T) {
	mf, err := ManifestFiles("rpm", testIDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/etc/opt/chrome/native-messaging-hosts/", "/etc/opt/edge/native-messaging-hosts/",
		"/usr/lib/mozilla/native-messaging-hosts/", "/usr/lib64/mozilla/native-messaging-hosts/"} {
		b, ok := mf[d+manifests.FileName]
		if !ok {
			t.Fatalf("no manifest in %s", d)
		}
		var m manifests.Manifest
		if err := json.Unmarshal(b, &m); err != nil || m.Path != HostPath || !m.IsOurs() {
			t.Errorf("%s: %v %+v", d, err, m)
		}
	}
}

func matchLine(out, pattern string) bool {
	re := strings.Fields(pattern)
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[0] == re[0] && f[1] == re[1] && f[len(f)-1]+"$" == re[len(re)-1] {
			return true
		}
	}
	return false
}

// builtCommand returns a built command: $OIA_BIN/name when set, else a fresh
// build into a temporary directory.
func builtCommand(t *testing.T, name, pkgPath string) string {
	t.Helper()
	if d := os.Getenv("OIA_BIN"); d != "" {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, pkgPath)
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkgPath, err, b)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestDebInstall installs the real .deb with dpkg, runs 'oia doctor' on the
// installed system, removes the package and checks nothing it installed is
// left. It runs only as root where dpkg exists (CI), and not where a
// package named oia is already installed.
func TestDebInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("no dpkg")
	}
	if exec.Command("dpkg", "-s", PackageName).Run() == nil {
		t.Skip("a package named oia is installed here; not touching it")
	}
	root := repoRoot(t)
	o := Options{Version: "0.1.0", Arch: "amd64", ExtensionIDs: testIDs, MTime: time.Unix(1700000000, 0).UTC(),
		Host:    builtCommand(t, "oia-host", "./host/cmd/oia-host"),
		OIA:     builtCommand(t, "oia", "./installer/cmd/oia"),
		License: filepath.Join(root, "LICENSE"), Compression: "none"}
	deb, err := Linux("deb", o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	// Directories the package would create: they must go again.
	var newDirs []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], "d") {
			d := strings.TrimPrefix(f[len(f)-1], ".")
			if !fileExists(d) {
				newDirs = append(newDirs, strings.TrimSuffix(d, "/"))
			}
		}
	}

	run := func(name string, args ...string) string {
		t.Helper()
		b, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
		return string(b)
	}
	run("dpkg", "-i", deb)
	removed := false
	t.Cleanup(func() {
		if !removed {
			exec.Command("dpkg", "-r", PackageName).Run()
		}
	})
	listed := strings.Fields(run("dpkg", "-L", PackageName))

	// The installed oia finds the installed host next to itself, and the
	// system-wide manifests pass every manifest check.
	cmd := exec.Command("/usr/bin/oia", "doctor", "--json", "--skip", "card", "--skip", "broker", "--skip", "versions")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	b, _ := cmd.Output()
	var report struct {
		Findings []struct{ Check, Subject, Status, Detail string }
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatalf("doctor output: %v\n%s", err, b)
	}
	okSystem := 0
	for _, f := range report.Findings {
		if f.Check != "registration" {
			continue
		}
		if strings.Contains(f.Subject, "system manifest") {
			if f.Status != "ok" {
				t.Errorf("doctor: %s: %s %s", f.Subject, f.Status, f.Detail)
			}
			okSystem++
		}
	}
	if okSystem == 0 {
		t.Errorf("doctor found no system manifest of an installed browser:\n%s", b)
	}

	run("dpkg", "-r", PackageName)
	removed = true
	for _, p := range listed {
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			t.Errorf("%s is left after dpkg -r", p)
		}
	}
	for _, d := range newDirs {
		if fileExists(d) {
			t.Errorf("directory %s, created by the package, is left after dpkg -r", d)
		}
	}
}
