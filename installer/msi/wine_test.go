// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package msi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/wine"
	"github.com/openidentityagent/oia/installer/policy"
)

// The tests below install the package with Wine's msiexec in a private
// prefix (e2e/wine). Wine's msiexec is its own implementation of Windows
// Installer; docs/installer.md §7 lists where it differs and what these
// tests therefore do not prove.

func TestMain(m *testing.M) {
	code := m.Run()
	if c := wine.TemplateCost(); c > 0 {
		fmt.Fprintf(os.Stderr, "wine: the template prefix took %v\n", c.Round(time.Millisecond))
	}
	if err := wine.RemoveTemplate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// windowsOIA returns a Windows oia.exe of this source tree: the one in
// $OIA_WINDOWS_BUILD/wintest (make test builds it: mk/wine.mk), else one
// built here with mingw-w64 (the Go build cache makes it cheap after the
// first time). The package's custom actions run it, so a stand-in would
// not do.
func windowsOIA(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("OIA_WINDOWS_BUILD"); d != "" {
		if p := filepath.Join(d, "wintest", "oia.exe"); fileExists(p) {
			return p
		}
	}
	if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
		t.Skip("no x86_64-w64-mingw32-gcc to build oia.exe (scripts/deps.sh test), and no OIA_WINDOWS_BUILD")
	}
	out := filepath.Join(t.TempDir(), "oia.exe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./installer/cmd/oia")
	cmd.Dir, _ = filepath.Abs("../..")
	cmd.Env = append(os.Environ(), "CC=x86_64-w64-mingw32-gcc", "CGO_ENABLED=1", "GOOS=windows", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build oia.exe: %v\n%s", err, b)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// wineInputs are the package's inputs with the real oia.exe.
func wineInputs(t *testing.T, version string) Options {
	t.Helper()
	o := fakeInputs(t, version)
	o.OIA = windowsOIA(t)
	// A different stand-in host per version shows which one is installed.
	if err := os.WriteFile(o.Host, []byte("stand-in oia-host.exe "+version), 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

// msiexec runs Wine's msiexec with a verbose log, and returns its exit
// status and what it printed (under Wine, the custom actions' output);
// the log's tail is in the test output when the status is not 0.
func msiexec(t *testing.T, ctx context.Context, p *wine.Prefix, args ...string) (int, string) {
	t.Helper()
	log := fmt.Sprintf(`C:\msiexec-%d.log`, time.Now().UnixNano())
	start := time.Now()
	r, err := p.Run(ctx, "msiexec", wine.RunOptions{Args: append(args, "/qn", "/l*v", log)})
	if err != nil {
		t.Fatalf("msiexec %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("msiexec %s: exit %d in %v", strings.Join(args, " "), r.ExitCode, time.Since(start).Round(time.Millisecond))
	if r.ExitCode != 0 {
		b, _ := os.ReadFile(p.MustPath(log))
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		if len(s) > 3000 {
			s = s[len(s)-3000:]
		}
		t.Logf("stdout: %s\nstderr: %s\nlog tail:\n%s", r.Stdout, r.Stderr, s)
	}
	return r.ExitCode, r.Stdout + r.Stderr
}

const (
	uninstallKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\`
	foreignKey   = `HKLM\Software\Google\Chrome\NativeMessagingHosts\com.example.other`
	configFile   = `C:\ProgramData\OIA\config.json`
)

// installed lists what a package built from o puts on the machine, as
// Windows paths and the bytes each must hold.
func installed(t *testing.T, o Options) map[string][]byte {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	files := map[string][]byte{
		InstallDir + "oia-host.exe":            read(o.Host),
		InstallDir + "oia.exe":                 read(o.OIA),
		`C:\windows\system32\TicketApiDll.dll`: read(o.TicketAPI64),
		`C:\windows\syswow64\TicketApiDll.dll`: read(o.TicketAPI32),
	}
	bs, err := Browsers()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		m, err := Manifest(b, o.ExtensionIDs)
		if err != nil {
			t.Fatal(err)
		}
		files[manifestPath(b)] = m
	}
	return files
}

func manifestPath(b Browser) string {
	return InstallDir + `NativeMessagingHosts\` + b.Name + `\org.openidentityagent.host.json`
}

// checkInstalled checks the files and the browsers' keys of o are there.
func checkInstalled(t *testing.T, ctx context.Context, p *wine.Prefix, o Options) {
	t.Helper()
	for win, want := range installed(t, o) {
		got, err := os.ReadFile(p.MustPath(win))
		if err != nil {
			t.Errorf("%s: %v", win, err)
		} else if string(got) != string(want) {
			t.Errorf("%s holds other bytes than the package's input", win)
		}
	}
	bs, _ := Browsers()
	for _, b := range bs {
		k, err := p.RegQuery(ctx, `HKLM\`+b.Key)
		if err != nil {
			t.Errorf("%s: %v", b.Title, err)
			continue
		}
		if v := k.Values[""]; v.Type != "REG_SZ" || v.Data != manifestPath(b) {
			t.Errorf("HKLM\\%s = %s %q, want REG_SZ %q", b.Key, v.Type, v.Data, manifestPath(b))
		}
	}
	if _, err := p.RegQuery(ctx, uninstallKey+ProductCode(o.Version)); err != nil {
		t.Errorf("version %s is not registered as installed: %v", o.Version, err)
	}
}

// checkRemoved checks that nothing of the package is left.
func checkRemoved(t *testing.T, ctx context.Context, p *wine.Prefix, o Options) {
	t.Helper()
	for win := range installed(t, o) {
		if fileExists(p.MustPath(win)) {
			t.Errorf("%s is left", win)
		}
	}
	for _, win := range []string{InstallDir, configFile} {
		if fileExists(p.MustPath(win)) {
			t.Errorf("%s is left", win)
		}
	}
	bs, _ := Browsers()
	for _, b := range bs {
		if _, err := p.RegQuery(ctx, `HKLM\`+b.Key); !errors.Is(err, wine.ErrNoKey) {
			t.Errorf("HKLM\\%s is left (%v)", b.Key, err)
		}
	}
	if _, err := p.RegQuery(ctx, uninstallKey+ProductCode(o.Version)); !errors.Is(err, wine.ErrNoKey) {
		t.Errorf("version %s is still registered as installed (%v)", o.Version, err)
	}
}

func readConfig(t *testing.T, p *wine.Prefix) map[string]any {
	t.Helper()
	b, err := os.ReadFile(p.MustPath(configFile))
	if err != nil {
		t.Fatalf("the configuration: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("the configuration: %v\n%s", err, b)
	}
	return c
}

// checkStatus asks the installed oia.exe, as `oia status --json`, whether
// it finds the host registered for every browser system-wide: the MSI's
// manifests and keys are the ones oia install --system would write.
func checkStatus(t *testing.T, ctx context.Context, p *wine.Prefix) {
	t.Helper()
	r, err := p.Run(ctx, InstallDir+"oia.exe", wine.RunOptions{Args: []string{"status", "--json"}})
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("oia status: %v, exit %d\n%s%s", err, r.ExitCode, r.Stdout, r.Stderr)
	}
	var entries []struct{ Browser, Scope, Status, Error string }
	if err := json.Unmarshal([]byte(r.Stdout), &entries); err != nil {
		t.Fatalf("oia status --json: %v\n%s", err, r.Stdout)
	}
	bs, _ := Browsers()
	registered := map[string]bool{}
	for _, e := range entries {
		if e.Scope == "system" {
			registered[e.Browser] = e.Status == "registered"
			if e.Status != "registered" {
				t.Errorf("oia status: %s system %s %s", e.Browser, e.Status, e.Error)
			}
		}
	}
	for _, b := range bs {
		if !registered[b.Name] {
			t.Errorf("oia status does not find %s registered system-wide", b.Title)
		}
	}
}

// TestWine_InstallUninstall installs the package with properties under
// Wine, checks the files, keys and configuration, then uninstalls it and
// checks that everything it wrote is gone and nothing else: a key of
// another product beside ours and a file an administrator left in
// %ProgramData%\OIA survive. A property the host would refuse fails the
// installation and leaves nothing behind.
func TestWine_InstallUninstall(t *testing.T) {
	needTools(t)
	start := time.Now()
	p := wine.NewPrefix(t)
	t.Logf("prefix ready in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	o := wineInputs(t, "0.1.0")
	pkgPath := p.WinPath(build(t, o))
	t.Logf("oia.exe and the package built in %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if err := p.RegAdd(ctx, foreignKey, "", "REG_SZ", `C:\Other\host.json`); err != nil {
		t.Fatal(err)
	}

	// The Ticket API alone: no oia.exe, so no configuration either.
	if code, _ := msiexec(t, ctx, p, "/i", pkgPath, "ADDLOCAL=TicketAPI", "BROKER_ENV=int"); code != 0 {
		t.Fatalf("ADDLOCAL=TicketAPI: exit %d", code)
	}
	for _, win := range []string{`C:\windows\system32\TicketApiDll.dll`, `C:\windows\syswow64\TicketApiDll.dll`} {
		if !fileExists(p.MustPath(win)) {
			t.Errorf("ADDLOCAL=TicketAPI did not install %s", win)
		}
	}
	for _, win := range []string{InstallDir + "oia.exe", configFile} {
		if fileExists(p.MustPath(win)) {
			t.Errorf("ADDLOCAL=TicketAPI installed %s", win)
		}
	}
	if code, _ := msiexec(t, ctx, p, "/x", pkgPath); code != 0 {
		t.Fatalf("uninstall the Ticket API alone: exit %d", code)
	}
	checkRemoved(t, ctx, p, o)

	// A typing mistake in a property fails the installation and rolls it
	// back. Windows exits 1603; Wine's msiexec ends with 1627
	// (ERROR_FUNCTION_FAILED), of which a Unix exit status keeps 91.
	if code, _ := msiexec(t, ctx, p, "/i", pkgPath, "BROKER_ENV=production"); code == 0 {
		t.Error("BROKER_ENV=production installed")
	}
	checkRemoved(t, ctx, p, o)

	// A junction a user planted at %ProgramData%\OIA before installation
	// is not followed: the installation fails, and the folder it points to
	// and the config.json there are untouched.
	t.Run("junction refused", func(t *testing.T) {
		target := p.MustPath(`C:\elsewhere`)
		planted := []byte(`{"allowedOrigins": ["https://evil.example"]}`)
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, "config.json"), planted, 0o644); err != nil {
			t.Fatal(err)
		}
		link := p.MustPath(`C:\ProgramData\OIA`)
		r, err := p.Run(ctx, "cmd", wine.RunOptions{Args: []string{"/c", "mklink", "/J", `C:\ProgramData\OIA`, `C:\elsewhere`}})
		defer func() {
			if err := os.RemoveAll(link); err != nil {
				t.Error(err)
			}
		}()
		// Wine 8.0's mklink /J says "Failed to open" and leaves a plain
		// folder (exit 0): no junction, so nothing to refuse.
		if fi, lerr := os.Lstat(link); err != nil || r.ExitCode != 0 || lerr != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Skipf("this Wine cannot make a junction (cmd /c mklink /J: %v, exit %d, %q; the Unix side holds a plain folder): oia configure's refusal of one is unverified here, and checked by TestCheckSystemTarget's fake and configure.txtar's symbolic links only", err, r.ExitCode, strings.TrimSpace(r.Stdout+r.Stderr))
		}
		code, out := msiexec(t, ctx, p, "/i", pkgPath, "BROKER_ENV=int")
		if code == 0 {
			t.Errorf("installed through a junction at %%ProgramData%%\\OIA:\n%s", out)
			msiexec(t, ctx, p, "/x", pkgPath)
		}
		t.Logf("oia configure said: %s", out)
		if b, err := os.ReadFile(filepath.Join(target, "config.json")); err != nil || !bytes.Equal(b, planted) {
			t.Errorf("the planted config.json behind the junction changed: %s %v", b, err)
		}
	})
	checkRemoved(t, ctx, p, o)

	notes := p.MustPath(`C:\ProgramData\OIA\notes.txt`)
	if err := os.MkdirAll(filepath.Dir(notes), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notes, []byte("left by an administrator"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := msiexec(t, ctx, p, "/i", pkgPath, "BROKER_ENV=int", "ALLOWED_ORIGINS=https://*.example.nhs.uk,https://portal.nhs.uk:8443"); code != 0 {
		t.Fatalf("install: exit %d", code)
	}
	checkInstalled(t, ctx, p, o)
	checkStatus(t, ctx, p)
	c := readConfig(t, p)
	if c["brokerEnvironment"] != "int" || fmt.Sprint(c["allowedOrigins"]) != "[https://*.example.nhs.uk https://portal.nhs.uk:8443]" {
		t.Errorf("configuration = %v", c)
	}
	t.Run("configuration folder administrators-only", func(t *testing.T) {
		sd, err := p.SecurityDescriptor(ctx, `C:\ProgramData\OIA`)
		if err != nil {
			t.Fatal(err)
		}
		const want = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
		// Wine 8.0's reading of exactly that descriptor: the owner and
		// Administrators become Wine's one user (S-1-5-21-0-0-0-1000),
		// Users become Everyone and the protection (P) and inheritance
		// flags (AI) are dropped. Any other access list is a failure.
		const wineUser = "S-1-5-21-0-0-0-1000"
		const wineForm = "O:" + wineUser + "D:(A;OICI;FA;;;SY)(A;OICI;FA;;;" + wineUser + ")(A;OICI;0x1200a9;;;WD)"
		if sd == wineForm {
			t.Skipf("Wine reads back %s for the folder oia configure set to O:BA%s, its fixed translation of that descriptor, so the owner and the protection are unverified here (docs/installer.md §7)", sd, want)
		}
		if !strings.HasPrefix(sd, "O:BA") || !strings.Contains(sd, want) {
			t.Errorf("%%ProgramData%%\\OIA: %s, want O:BA%s (or Wine 8.0's %s)", sd, want, wineForm)
		}
	})

	if code, _ := msiexec(t, ctx, p, "/x", pkgPath); code != 0 {
		t.Fatalf("uninstall: exit %d", code)
	}
	checkRemoved(t, ctx, p, o)
	if k, err := p.RegQuery(ctx, foreignKey); err != nil || k.Values[""].Data != `C:\Other\host.json` {
		t.Errorf("another product's key beside ours did not survive: %v %v", k, err)
	}
	if !fileExists(notes) {
		t.Error("a file of an administrator's in %ProgramData%\\OIA was removed")
	}
}

// wineUpgradeUninstall is true while these tests run only under Wine 8.0,
// whose upgrades differ from Windows' in two ways a regression would look
// the same as: the uninstall RemoveExistingProducts runs does not see
// UPGRADINGPRODUCTCODE (so the older version's RemoveConfig and
// RemovePolicy run), and MigrateFeatureStates migrates no feature state.
// The subtests that would see those skip up front rather than on seeing
// the failure; what they check is unverified in CI.
const wineUpgradeUninstall = true

// lastLines is the end of s, for a skip message.
func lastLines(s string) string {
	if len(s) > 300 {
		return s[len(s)-300:]
	}
	return s
}

// TestWine_Upgrade installs a version with the Policy feature, then a
// newer one without properties: one product stays registered (the newer),
// its files are in place, and the configuration, the Policy feature and
// the managed settings the first one wrote are kept. Installing
// the older version again is refused. Uninstalling leaves nothing.
func TestWine_Upgrade(t *testing.T) {
	needTools(t)
	p := wine.NewPrefix(t)
	old, cur := wineInputs(t, "0.1.0"), wineInputs(t, "0.1.1")
	oldPkg, curPkg := p.WinPath(build(t, old)), p.WinPath(build(t, cur))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	origins := []string{"https://*.example.nhs.uk"}
	if code, _ := msiexec(t, ctx, p, "/i", oldPkg, "BROKER_ENV=dep", "ADDLOCAL=Host,TicketAPI,Policy", "ALLOWED_ORIGINS="+origins[0]); code != 0 {
		t.Fatalf("install %s: exit %d", old.Version, code)
	}
	checkInstalled(t, ctx, p, old)
	code, upgradeOut := msiexec(t, ctx, p, "/i", curPkg)
	if code != 0 {
		t.Fatalf("upgrade to %s: exit %d", cur.Version, code)
	}
	checkInstalled(t, ctx, p, cur)
	k, err := p.RegQuery(ctx, strings.TrimSuffix(uninstallKey, `\`))
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, s := range k.Subkeys {
		s = s[strings.LastIndex(s, `\`)+1:]
		if s == ProductCode(old.Version) || s == ProductCode(cur.Version) {
			ours = append(ours, s)
		}
	}
	if !slices.Equal(ours, []string{ProductCode(cur.Version)}) {
		t.Errorf("installed products after the upgrade: %v, want only %s", ours, ProductCode(cur.Version))
	}
	t.Run("configuration kept", func(t *testing.T) {
		if wineUpgradeUninstall {
			t.Skipf("unverified in CI: Wine 8.0 runs the older version's RemoveConfig during the upgrade, because the uninstall its RemoveExistingProducts runs does not see UPGRADINGPRODUCTCODE, which Windows sets; TestBuild_Tables checks the condition's text only (docs/installer.md §7; this upgrade's output: %q)", lastLines(upgradeOut))
		}
		if c := readConfig(t, p); c["brokerEnvironment"] != "dep" {
			t.Errorf("the upgrade did not keep the configuration: %v", c)
		}
	})

	// The upgrade keeps the Policy feature (MigrateFeatureStates) and what
	// it wrote, without ADDLOCAL or ALLOWED_ORIGINS.
	want := policyKeys(t, cur, origins)
	t.Run("policy feature kept", func(t *testing.T) {
		if wineUpgradeUninstall {
			t.Skip("unverified in CI: Wine 8.0's MigrateFeatureStates migrates no feature state (a version installed with ADDLOCAL=Host gets TicketAPI back from an upgrade too), so the upgrade installs the default features; on Windows the Upgrade row's MigrateFeatures attribute keeps the Policy feature, which TestBuild_Tables checks (docs/installer.md §7)")
		}
		var missing []string
		for k, vals := range want {
			if _, ok := vals["update_url"]; !ok {
				continue
			}
			got, err := p.RegQuery(ctx, k)
			switch {
			case errors.Is(err, wine.ErrNoKey):
				missing = append(missing, k)
			case err != nil || got.Values["update_url"].Data != vals["update_url"]:
				t.Errorf("after the upgrade, %s: %v %v", k, got, err)
			}
		}
		if len(missing) > 0 {
			t.Errorf("after the upgrade, some of the Policy feature's keys are missing: %v", missing)
		}
	})
	t.Run("managed settings kept", func(t *testing.T) {
		if wineUpgradeUninstall {
			t.Skip("unverified in CI: Wine 8.0 runs the older version's RemovePolicy during the upgrade, because the uninstall its RemoveExistingProducts runs does not see UPGRADINGPRODUCTCODE, which Windows sets; TestBuild_Tables checks the condition's text only (docs/installer.md §7)")
		}
		for k, vals := range want {
			if _, ok := vals["1"]; !ok {
				continue
			}
			if got, err := p.RegQuery(ctx, k); err != nil || got.Values["1"].Data != origins[0] {
				t.Errorf("after the upgrade, %s: %v %v", k, got, err)
			}
		}
	})

	// Going back needs an uninstall first (the downgrade launch condition).
	if code, _ := msiexec(t, ctx, p, "/i", oldPkg); code == 0 {
		t.Error("installing the older version over the newer one succeeded")
	}
	checkInstalled(t, ctx, p, cur)

	if code, _ := msiexec(t, ctx, p, "/x", curPkg); code != 0 {
		t.Fatalf("uninstall: exit %d", code)
	}
	checkRemoved(t, ctx, p, cur)
	for k := range want {
		if _, err := p.RegQuery(ctx, k); !errors.Is(err, wine.ErrNoKey) {
			t.Errorf("after the uninstall: %s is there (%v)", k, err)
		}
	}
}

// policyKeys returns, for a package built from o with ALLOWED_ORIGINS =
// origins, the keys the Policy feature writes and the values each must
// hold (reg.exe's REG_SZ data by value name): the update_url keys in the
// 32-bit view (Wow6432Node), and the managed settings as installer/policy
// lays them out.
func policyKeys(t *testing.T, o Options, origins []string) map[string]map[string]string {
	t.Helper()
	keys := map[string]map[string]string{}
	ins, err := Installs(o.ExtensionIDs, o.EdgeID)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		k := `HKLM\Software\Wow6432Node\` + strings.TrimPrefix(in.Key, `Software\`)
		keys[k] = map[string]string{"update_url": in.URL}
	}
	s := policy.Defaults()
	s.AllowedOrigins = origins
	mk, err := policy.ManagedValues(s, o.ExtensionIDs, "allowedOrigins")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mk {
		for _, v := range m.Values {
			k := `HKLM\` + v.Key
			if keys[k] == nil {
				keys[k] = map[string]string{}
			}
			keys[k][v.Name] = fmt.Sprint(v.Value)
		}
	}
	return keys
}

// TestWine_Policy installs the package with the Policy feature: the keys
// that install the extension from its store and its managed allowedOrigins
// are written, per extension id; a default installation writes none of
// them; uninstalling removes them and only them (another product's keys
// beside ours survive).
func TestWine_Policy(t *testing.T) {
	needTools(t)
	start := time.Now()
	p := wine.NewPrefix(t)
	o := wineInputs(t, "0.1.0")
	pkgPath := p.WinPath(build(t, o))
	t.Logf("prefix, oia.exe and the package ready in %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	const other = "ponmlkjihgfedcbaponmlkjihgfedcba"
	foreign := map[string][2]string{
		`HKLM\Software\Wow6432Node\Google\Chrome\Extensions\` + other:                   {"update_url", ChromeWebStoreUpdateURL},
		`HKLM\Software\Wow6432Node\Microsoft\Edge\Extensions\` + other:                  {"update_url", EdgeAddonsUpdateURL},
		`HKLM\Software\Policies\Google\Chrome\3rdparty\extensions\` + other + `\policy`: {"server", "https://other.example"},
		`HKLM\Software\Policies\Mozilla\Firefox\3rdparty\Extensions\other@example.org`:  {"server", "https://other.example"},
	}
	for k, v := range foreign {
		if err := p.RegAdd(ctx, k, v[0], "REG_SZ", v[1]); err != nil {
			t.Fatal(err)
		}
	}
	origins := []string{"https://*.example.nhs.uk", "https://portal.nhs.uk:8443"}
	want := policyKeys(t, o, origins)
	absent := func(when string) {
		t.Helper()
		for k := range want {
			if _, err := p.RegQuery(ctx, k); !errors.Is(err, wine.ErrNoKey) {
				t.Errorf("%s: %s is there (%v)", when, k, err)
			}
		}
	}

	// Not installed by default: its Level is above INSTALLLEVEL. Neither
	// that installation nor its uninstall touches the extension's policy,
	// which Group Policy may have set.
	gpo := `HKLM\Software\Policies\Google\Chrome\3rdparty\extensions\` + o.ExtensionIDs[0] + `\policy`
	if err := p.RegAdd(ctx, gpo, "pinTimeoutSeconds", "REG_DWORD", "90"); err != nil {
		t.Fatal(err)
	}
	code, out := msiexec(t, ctx, p, "/i", pkgPath, "ALLOWED_ORIGINS="+strings.Join(origins, ","))
	if code != 0 {
		t.Fatalf("default install: exit %d", code)
	}
	absent("a default installation")
	code, out2 := msiexec(t, ctx, p, "/x", pkgPath)
	if code != 0 {
		t.Fatalf("uninstall: exit %d", code)
	}
	if strings.Contains(out+out2, "HKLM") {
		t.Errorf("without the Policy feature, oia configure --policy ran:\n%s%s", out, out2)
	}
	if k, err := p.RegQuery(ctx, gpo); err != nil || k.Values["pinTimeoutSeconds"].Type != "REG_DWORD" {
		t.Errorf("a policy value set by Group Policy went with an installation without the Policy feature: %v %v", k, err)
	}
	if err := p.RegDelete(ctx, gpo); err != nil {
		t.Fatal(err)
	}

	code, out = msiexec(t, ctx, p, "/i", pkgPath, "ADDLOCAL=Host,TicketAPI,Policy", "ALLOWED_ORIGINS="+strings.Join(origins, ","))
	if code != 0 {
		t.Fatalf("install with Policy: exit %d\n%s", code, out)
	}
	checkInstalled(t, ctx, p, o)
	for k, vals := range want {
		got, err := p.RegQuery(ctx, k)
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		for name, data := range vals {
			if v := got.Values[name]; v.Type != "REG_SZ" || v.Data != data {
				t.Errorf("%s %s = %s %q, want REG_SZ %q", k, name, v.Type, v.Data, data)
			}
		}
		if len(got.Values) != len(vals) {
			t.Errorf("%s holds %d values, want %d: %v", k, len(got.Values), len(vals), got.Values)
		}
	}
	if c := readConfig(t, p); fmt.Sprint(c["allowedOrigins"]) != "[https://*.example.nhs.uk https://portal.nhs.uk:8443]" {
		t.Errorf("the configuration lost ALLOWED_ORIGINS beside the policy: %v", c)
	}

	// A repair, which a standard user may start on a per-machine product,
	// does not run WriteConfig or WritePolicy (NOT Installed): the
	// properties it passes change neither the file nor the keys. Wine
	// 8.0's msiexec /fa takes no properties (it exits 1 with them), so the
	// repair is REINSTALL=ALL, which is what /fa sets on Windows.
	before, err := os.ReadFile(p.MustPath(configFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, repair := range [][]string{
		{"/i", pkgPath, "REINSTALL=ALL", "REINSTALLMODE=vomus", "ALLOWED_ORIGINS=https://evil.example", "BROKER_ENV=dev"},
	} {
		code, out := msiexec(t, ctx, p, repair...)
		if code != 0 {
			t.Fatalf("repair %v: exit %d\n%s", repair, code, out)
		}
		if strings.Contains(out, "wrote ") {
			t.Errorf("repair %v ran oia configure:\n%s", repair, out)
		}
		if after, err := os.ReadFile(p.MustPath(configFile)); err != nil || !bytes.Equal(after, before) {
			t.Errorf("repair %v changed the configuration: %s (%v), was %s", repair, after, err, before)
		}
		for k, vals := range want {
			got, err := p.RegQuery(ctx, k)
			if err != nil {
				t.Errorf("after repair %v, %s: %v", repair, k, err)
				continue
			}
			for name, data := range vals {
				if got.Values[name].Data != data {
					t.Errorf("after repair %v, %s %s = %q, want %q", repair, k, name, got.Values[name].Data, data)
				}
			}
		}
	}

	if code, _ := msiexec(t, ctx, p, "/x", pkgPath); code != 0 {
		t.Fatalf("uninstall: exit %d", code)
	}
	checkRemoved(t, ctx, p, o)
	absent("after the uninstall")
	for _, in := range []string{`HKLM\Software\Policies\Google\Chrome\3rdparty\extensions\`, `HKLM\Software\Policies\Microsoft\Edge\3rdparty\extensions\`, `HKLM\Software\Policies\Mozilla\Firefox\3rdparty\Extensions\`} {
		for _, id := range o.ExtensionIDs {
			if _, err := p.RegQuery(ctx, in+id); !errors.Is(err, wine.ErrNoKey) {
				t.Errorf("after the uninstall: %s%s is there (%v)", in, id, err)
			}
		}
	}
	for k, v := range foreign {
		if got, err := p.RegQuery(ctx, k); err != nil || got.Values[v[0]].Data != v[1] {
			t.Errorf("another product's key %s did not survive: %v %v", k, got, err)
		}
	}
}
