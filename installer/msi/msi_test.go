// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package msi

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/installer/pkg"
	"github.com/openidentityagent/oia/manifests"
)

var testIDs = []string{"abcdefghijklmnopabcdefghijklmnop", "identity-agent@openidentityagent.org"}

// needTools skips a test on a machine without msitools and wixl.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"wixl", "msibuild", "msiinfo"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: install wixl and msitools (scripts/deps.sh test)", tool)
		}
	}
}

// fakeInputs writes small stand-ins for the signed executables and DLLs:
// these tests check the package's tables and bytes, not the programs (the
// Wine tests install the real ones).
func fakeInputs(t *testing.T, version string) Options {
	t.Helper()
	dir := t.TempDir()
	o := Options{Version: version, ExtensionIDs: testIDs, MTime: time.Unix(1700000000, 0).UTC(),
		Host: filepath.Join(dir, "oia-host.exe"), OIA: filepath.Join(dir, "oia.exe"),
		TicketAPI32: filepath.Join(dir, "x86.dll"), TicketAPI64: filepath.Join(dir, "x64.dll")}
	for _, p := range []string{o.Host, o.OIA, o.TicketAPI32, o.TicketAPI64} {
		if err := os.WriteFile(p, []byte("stand-in for "+filepath.Base(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func build(t *testing.T, o Options) string {
	t.Helper()
	p, err := Build(context.Background(), o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func export(t *testing.T, msiPath, table string) string {
	t.Helper()
	out, err := exec.Command("msiinfo", "export", msiPath, table).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v", table, err)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// TestBuild_Tables reads the package back with msiinfo and checks that
// each table holds the rows the package is for.
func TestBuild_Tables(t *testing.T) {
	needTools(t)
	p := build(t, fakeInputs(t, "1.2.3"))
	hklm := "\t2\t" // Registry.Root: 2 is HKEY_LOCAL_MACHINE
	tests := []struct {
		table, row, why string
	}{
		{"Property", "ProductVersion\t1.2.3\n", "the version comes from VERSION, which Windows compares for upgrades"},
		{"Property", "UpgradeCode\t" + UpgradeCode + "\n", "the fixed upgrade code ties every version together"},
		{"Property", "ProductCode\t" + ProductCode("1.2.3") + "\n", "the product code is derived from the version, so a rebuild is the same product"},
		{"Property", "ALLUSERS\t1\n", "a per-machine installation (HKLM, Program Files)"},
		{"Property", "SecureCustomProperties\tWIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;BROKER_ENV;ALLOWED_ORIGINS\n", "the public properties must reach the elevated installation"},
		{"Upgrade", UpgradeCode + "\t\t1.2.3\t\t1\t\tWIX_UPGRADE_DETECTED\n", "an older version (up to this one) is found and removed"},
		{"Upgrade", UpgradeCode + "\t1.2.3\t\t\t2\t\tWIX_DOWNGRADE_DETECTED\n", "a newer version is detected, only"},
		{"LaunchCondition", "NOT WIX_DOWNGRADE_DETECTED\t", "installing over a newer version is refused"},
		{"LaunchCondition", `Installed OR ProgramFiles64Folder ~= "C:\Program Files\"` + "\t", "the manifests' host path is fixed, so another Program Files is refused"},
		{"Directory", "oiaDir\tProgramFiles64Folder\tOIA\n", `the programs go to C:\Program Files\OIA (64-bit)`},
		{"File", "oia_host.exe\tHost\toia-host.exe\t", "the browsers' host"},
		{"File", "oia.exe\tCommand\toia.exe\t", "the oia command, which also writes the configuration"},
		{"Component", "TicketApi64\t", "the 64-bit Ticket API DLL"},
		{"Component", "\tSystem64Folder\t256\t\tTicketApiDll64\n", `the 64-bit DLL goes to System32, a 64-bit component`},
		{"Component", "\tSystemFolder\t0\t\tTicketApiDll32\n", `the 32-bit DLL goes to SysWOW64 (SystemFolder of a 64-bit package), a 32-bit component`},
		{"Registry", hklm + `Software\Google\Chrome\NativeMessagingHosts\org.openidentityagent.host` + "\t\t[#manifest_chrome]\tManifest_chrome\n", "Chrome finds the host through this key"},
		{"Registry", hklm + `Software\Microsoft\Edge\NativeMessagingHosts\org.openidentityagent.host` + "\t\t[#manifest_edge]\tManifest_edge\n", "Edge finds the host through its own key"},
		{"Registry", hklm + `Software\Mozilla\NativeMessagingHosts\org.openidentityagent.host` + "\t\t[#manifest_firefox]\tManifest_firefox\n", "Firefox finds the host through this key"},
		{"Component", "Manifest_chrome\t", "the keys belong to the manifests' components"},
		{"Component", "\tnmh_chrome\t256\t\tmanifest_chrome\n", "the keys are written in the 64-bit view, as oia install does"},
		{"CustomAction", "WriteConfig\t3090\toia.exe\tconfigure --from-msi --broker-environment=\"[BROKER_ENV]\" --allowed-origins=\"[ALLOWED_ORIGINS]\"\t", "the installed oia.exe writes the configuration as SYSTEM (deferred, no impersonation)"},
		{"CustomAction", "RemoveConfig\t3154\toia.exe\tconfigure --from-msi --remove\t", "a full uninstall removes it (failure ignored)"},
		{"InstallExecuteSequence", "WriteConfig\tNOT Installed AND NOT (REMOVE=\"ALL\") AND (&Host=3 OR (!Host=3 AND NOT &Host=2))\t", "the configuration is written on install and upgrade only (NOT Installed: a repair, which a standard user may start, must not run it as SYSTEM with that user's properties), where oia.exe is installed"},
		{"InstallExecuteSequence", "RemoveConfig\tREMOVE=\"ALL\" AND NOT UPGRADINGPRODUCTCODE\t", "an upgrade keeps the configuration"},
		{"Feature", "TicketAPI\t\tTicket API\t", "administrators can leave the DLLs out (ADDLOCAL=Host)"},
		{"Feature", "Policy\tHost\tBrowser policy\t", "the Policy feature sits under Host, whose oia.exe writes the managed settings"},
		{"Feature", "\t1000\t\t0\n", "Policy's level is above INSTALLLEVEL (1): only ADDLOCAL=...,Policy installs it"},
		{"FeatureComponents", "Policy\tExtensionInstall_chrome\n", "the Chrome install key belongs to Policy"},
		{"FeatureComponents", "Policy\tExtensionInstall_edge\n", "the Edge install key belongs to Policy"},
		{"Registry", hklm + `Software\Google\Chrome\Extensions\` + testIDs[0] + "\tupdate_url\t" + ChromeWebStoreUpdateURL + "\tExtensionInstall_chrome\n", "Chrome installs the first Chrome id from the Chrome Web Store, a key of that id alone"},
		{"Registry", hklm + `Software\Microsoft\Edge\Extensions\` + testIDs[0] + "\tupdate_url\t" + ChromeWebStoreUpdateURL + "\tExtensionInstall_edge\n", "without an Edge Add-ons id, Edge installs the same extension from the Chrome Web Store"},
		{"Component", "\tTARGETDIR\t4\t\treg", "the install keys' components are 32-bit with a registry key path (4, no 256): the keys go to the 32-bit view, where Chrome and Edge read them"},
		{"CustomAction", "WritePolicy\t3090\toia.exe\tconfigure --from-msi --policy=" + strings.Join(testIDs, ",") + " --allowed-origins=\"[ALLOWED_ORIGINS]\"\t", "oia.exe writes allowedOrigins into each extension id's managed settings, as SYSTEM"},
		{"CustomAction", "RemovePolicy\t3154\toia.exe\tconfigure --from-msi --policy=" + strings.Join(testIDs, ",") + " --remove\t", "and deletes those extension ids' keys (failure ignored)"},
		{"InstallExecuteSequence", "WritePolicy\tNOT Installed AND NOT (REMOVE=\"ALL\") AND (&Policy=3 OR ((!Policy=3 OR !Policy=4) AND NOT &Policy=2))\t", "the managed settings are written only where the Policy feature is installed, and on install and upgrade only (NOT Installed: not by a repair a standard user starts)"},
		{"InstallExecuteSequence", "RemovePolicy\t&Policy=2 AND (!Policy=3 OR !Policy=4) AND NOT UPGRADINGPRODUCTCODE\t", "and removed only where it was installed and goes; an upgrade keeps them"},
	}
	tables := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.table+"/"+tt.why, func(t *testing.T) {
			if _, ok := tables[tt.table]; !ok {
				tables[tt.table] = export(t, p, tt.table)
			}
			if !strings.Contains(tables[tt.table], tt.row) {
				t.Errorf("%s has no row %q:\n%s", tt.table, tt.row, tables[tt.table])
			}
		})
	}

	// The sequence: the old version goes before this one is installed (so
	// its uninstall keeps the configuration), the configuration and the
	// managed settings are written after the files (oia.exe) and removed
	// before them.
	seq := export(t, p, "InstallExecuteSequence")
	order := []string{"InstallValidate", "RemoveExistingProducts", "InstallInitialize", "RemoveRegistryValues", "RemoveConfig", "RemovePolicy", "RemoveFiles", "InstallFiles", "WriteConfig", "WriteRegistryValues", "WritePolicy", "InstallFinalize"}
	last := -1
	for _, a := range order {
		i := strings.Index(seq, "\n"+a+"\t")
		if i < last {
			t.Errorf("%s is out of order (want %s):\n%s", a, strings.Join(order, " < "), seq)
		}
		last = i
	}

	sum, err := exec.Command("msiinfo", "suminfo", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Template: x64;1033", "Created: Tue Nov 14 22:13:20 2023", "Last saved: Tue Nov 14 22:13:20 2023", "Subject: Open Identity Agent 1.2.3"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary information lacks %q:\n%s", want, sum)
		}
	}
}

// TestInstalls checks which store each browser installs the extension
// from, for the ids of a build.
func TestInstalls(t *testing.T) {
	const web, edge = "abcdefghijklmnopabcdefghijklmnop", "ponmlkjihgfedcbaponmlkjihgfedcba"
	const ff = "identity-agent@openidentityagent.org"
	for _, c := range []struct {
		reason string
		ids    []string
		edgeID string
		want   string
		err    string
	}{
		{"one Chrome id: Chrome and Edge both install it from the Chrome Web Store", []string{web, ff}, "",
			`chrome Software\Google\Chrome\Extensions\` + web + " " + ChromeWebStoreUpdateURL + `; edge Software\Microsoft\Edge\Extensions\` + web + " " + ChromeWebStoreUpdateURL, ""},
		{"an Edge Add-ons id: Edge installs that one from Edge Add-ons", []string{web, edge, ff}, edge,
			`chrome Software\Google\Chrome\Extensions\` + web + " " + ChromeWebStoreUpdateURL + `; edge Software\Microsoft\Edge\Extensions\` + edge + " " + EdgeAddonsUpdateURL, ""},
		{"the first Chrome id is the Web Store's, whatever the order of the Firefox id", []string{ff, web}, "",
			`chrome Software\Google\Chrome\Extensions\` + web + " " + ChromeWebStoreUpdateURL + `; edge Software\Microsoft\Edge\Extensions\` + web + " " + ChromeWebStoreUpdateURL, ""},
		{"no Chrome id: nothing to install in Chrome or Edge", []string{ff}, "", "", ""},
		{"an Edge id the host manifests do not list would install an extension the host refuses", []string{web, ff}, edge, "", "is not among the Chrome ids"},
	} {
		ins, err := Installs(c.ids, c.edgeID)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.reason, err, c.err)
			}
			continue
		}
		var got []string
		for _, in := range ins {
			got = append(got, in.Name+" "+in.Key+" "+in.URL)
		}
		if err != nil || strings.Join(got, "; ") != c.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", c.reason, strings.Join(got, "; "), err, c.want)
		}
	}
}

// TestBuild_EdgeID: with an Edge Add-ons id the Edge key names it and
// Edge Add-ons' update URL.
func TestBuild_EdgeID(t *testing.T) {
	needTools(t)
	o := fakeInputs(t, "1.2.3")
	const edge = "ponmlkjihgfedcbaponmlkjihgfedcba"
	o.ExtensionIDs, o.EdgeID = []string{testIDs[0], edge, testIDs[1]}, edge
	reg := export(t, build(t, o), "Registry")
	for _, row := range []string{
		"\t2\t" + `Software\Microsoft\Edge\Extensions\` + edge + "\tupdate_url\t" + EdgeAddonsUpdateURL + "\tExtensionInstall_edge\n",
		"\t2\t" + `Software\Google\Chrome\Extensions\` + testIDs[0] + "\tupdate_url\t" + ChromeWebStoreUpdateURL + "\tExtensionInstall_chrome\n",
	} {
		if !strings.Contains(reg, row) {
			t.Errorf("Registry has no row %q:\n%s", row, reg)
		}
	}
}

// TestBuild_Manifests extracts the host manifests and checks each one as
// oia doctor would: our name, the installed host's absolute path, the ids.
func TestBuild_Manifests(t *testing.T) {
	needTools(t, "msiextract")
	p := build(t, fakeInputs(t, "0.1.0"))
	dir := t.TempDir()
	if out, err := exec.Command("msiextract", "-C", dir, p).CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	bs, err := Browsers()
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) < 3 {
		t.Fatalf("only %d browsers; want at least Chrome, Edge and Firefox", len(bs))
	}
	for _, b := range bs {
		data, err := os.ReadFile(filepath.Join(dir, FolderName, "NativeMessagingHosts", b.Name, manifests.FileName))
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		want, _ := Manifest(b, testIDs)
		if !bytes.Equal(data, want) {
			t.Errorf("%s manifest differs from what oia install --system writes:\n%s", b.Name, data)
		}
		m, err := manifests.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Path != `C:\Program Files\OIA\oia-host.exe` || !m.IsOurs() {
			t.Errorf("%s manifest names %q", b.Name, m.Path)
		}
		if ps := manifests.Check(b.Family, m, testIDs, func(string) error { return nil }); len(ps) > 0 {
			t.Errorf("%s manifest: %v", b.Name, ps)
		}
	}
}

// TestBuild_Reproducible builds twice, with the inputs' times changed in
// between, and expects the same bytes; then signs both with the same key
// and time and expects the same bytes again, and a signature that
// verifies against the throw-away CA.
func TestBuild_Reproducible(t *testing.T) {
	needTools(t)
	o := fakeInputs(t, "0.1.0")
	a := build(t, o)
	now := time.Now()
	os.Chtimes(o.Host, now, now)
	b := build(t, o)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("two builds of the same inputs differ")
	}
	o.Version = "0.1.1"
	if c, _ := os.ReadFile(build(t, o)); bytes.Equal(c, da) {
		t.Fatal("another version gave the same bytes")
	}

	for _, tool := range []string{"osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: signing not checked", tool)
		}
	}
	keys := filepath.Join(t.TempDir(), "keys")
	root, _ := filepath.Abs("../..")
	if out, err := exec.Command(filepath.Join(root, "installer", "scripts", "throwaway-keys.sh"), keys).CombinedOutput(); err != nil {
		t.Fatalf("throwaway-keys.sh: %v\n%s", err, out)
	}
	so := pkg.SignOptions{Cert: filepath.Join(keys, "win-sign.pem"), Key: filepath.Join(keys, "win-sign.key"), Time: o.MTime}
	ctx := context.Background()
	var signed [][]byte
	for i, in := range []string{a, b} {
		out := filepath.Join(t.TempDir(), "signed.msi")
		if err := pkg.SignExe(ctx, so, in, out); err != nil {
			t.Fatalf("sign %d: %v", i, err)
		}
		if err := pkg.VerifyExe(ctx, out, filepath.Join(keys, "win-ca.pem")); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		signed = append(signed, data)
	}
	if !bytes.Equal(signed[0], signed[1]) {
		t.Error("signing the same package twice with the same key and time gave different bytes")
	}
}

// TestBuild_Refuses: what Windows Installer or the manifests would reject
// stops the build.
func TestBuild_Refuses(t *testing.T) {
	needTools(t)
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"a version Windows Installer cannot compare", func(o *Options) { o.Version = "1.2.3-rc1" }},
		{"no extension id, so the manifests allow nothing", func(o *Options) { o.ExtensionIDs = nil }},
		{"no time, so the build would not be reproducible", func(o *Options) { o.MTime = time.Time{} }},
		{"a missing input", func(o *Options) { o.TicketAPI32 = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fakeInputs(t, "0.1.0")
			tt.edit(&o)
			if _, err := Build(context.Background(), o, t.TempDir()); err == nil {
				t.Error("built anyway")
			}
		})
	}
}

// TestProductCode: one product code per version, stable across builds.
func TestProductCode(t *testing.T) {
	a, b := ProductCode("0.1.0"), ProductCode("0.1.0")
	if a != b || a == ProductCode("0.1.1") {
		t.Error("product code is not a function of the version")
	}
	if len(ProductCode("0.1.0")) != 38 || strings.ToUpper(ProductCode("0.1.0")) != ProductCode("0.1.0") {
		t.Errorf("product code %s is not a braced upper-case GUID", ProductCode("0.1.0"))
	}
}
