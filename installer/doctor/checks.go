// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/installer/register"
	"github.com/openidentityagent/oia/manifests"
)

func checkConfig(_ context.Context, e *Env) []Finding {
	var fs []Finding
	for _, f := range []struct{ name, path string }{{"system", e.ConfigPaths.System}, {"user", e.ConfigPaths.User}} {
		if f.path == "" {
			continue
		}
		detail := "not present; defaults apply"
		if _, err := os.Stat(f.path); err == nil {
			detail = "used"
		}
		fs = append(fs, Finding{Subject: f.name + " config " + f.path, Status: Info, Detail: detail})
	}
	cfg, err := config.Load(e.ConfigPaths)
	if err != nil {
		return append(fs, Finding{Subject: "configuration", Status: Error, Detail: err.Error(),
			Fix: "correct the file and key named above (docs/configuration.md lists the keys)"})
	}
	e.cfg = cfg
	for _, n := range cfg.Notes {
		if cfg.Unsafe != nil && n == cfg.Unsafe.Error() {
			fs = append(fs, Finding{Subject: "system config", Status: Error, Detail: n,
				Fix: "an administrator makes the file and its folders writable by administrators only: oia install --system creates the folder so"})
			continue
		}
		fs = append(fs, Finding{Subject: "configuration", Status: Warning, Detail: n})
	}
	for _, k := range cfg.UserSecurity {
		fs = append(fs, Finding{Subject: "configuration", Status: Warning, Detail: cfg.UserSecurityWarning(k),
			Fix: "IT sets " + k + " in the system file, or the user removes it from their file"})
	}
	for _, id := range cfg.AllowedExtensions {
		if id == config.ChromeDevExtensionID {
			fs = append(fs, Finding{Subject: "configuration", Status: Warning,
				Detail: "allowedExtensions trusts the development Chrome id " + id + ", which any unpacked extension can claim",
				Fix:    "list the id of the extension as your trust publishes it (docs/deployment.md), not the development id"})
		}
	}
	if len(e.Register.ExtensionIDs) == 0 {
		e.Register.ExtensionIDs = cfg.AllowedExtensions
	}
	return append(fs, Finding{Subject: "configuration", Status: OK, Detail: "loaded"})
}

// hostVersion runs `oia-host --version` and returns its first line.
func hostVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Stdout = &limitedBuffer{b: &out, n: 4096}
	if err := cmd.Run(); err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	return line, nil
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func checkVersions(ctx context.Context, e *Env) []Finding {
	fs := []Finding{{Subject: "oia", Status: Info, Detail: oia.Version}}
	if e.HostPath == "" {
		fs = append(fs, Finding{Subject: "oia-host", Status: Warning, Detail: "not found next to oia",
			Fix: "reinstall the package, or pass --host with oia-host's path"})
	} else if v, err := e.HostVersion(ctx, e.HostPath); err != nil {
		fs = append(fs, Finding{Subject: "oia-host " + e.HostPath, Status: Error,
			Detail: fmt.Sprintf("'oia-host --version' failed: %v", err),
			Fix:    "reinstall the package; the host binary is missing or broken"})
	} else {
		st, detail := Info, v
		if !strings.Contains(v, oia.Version) {
			st, detail = Warning, v+" (oia is "+oia.Version+")"
		}
		fs = append(fs, Finding{Subject: "oia-host " + e.HostPath, Status: st, Detail: detail,
			Fix: fixIf(st == Warning, "install oia and oia-host from the same package")})
	}
	var versions []string
	if ts, err := register.Targets(e.Register, register.User); err == nil {
		versions = extensionVersions(ts, e.Register.ExtensionIDs)
	}
	versions = append(versions, firefoxVersions(e.Register, e.Register.ExtensionIDs)...)
	for _, v := range versions {
		fs = append(fs, Finding{Subject: "extension", Status: Info, Detail: v})
	}
	if len(versions) == 0 {
		fs = append(fs, Finding{Subject: "extension", Status: Info,
			Detail: "not found in this user's browser profiles (a policy install or another profile may still have it)"})
	}
	return fs
}

// firefoxProfiles are the globs of Firefox profile directories per OS.
var firefoxProfiles = map[string]string{
	"linux":   "~/.mozilla/firefox/*",
	"darwin":  "~/Library/Application Support/Firefox/Profiles/*",
	"windows": "%APPDATA%/Mozilla/Firefox/Profiles/*",
}

// maxExtensionsJSON bounds a profile's extensions.json.
const maxExtensionsJSON = 8 << 20

// firefoxVersions finds our add-on in the extensions.json of the user's
// Firefox profiles.
func firefoxVersions(o register.Options, ids []string) []string {
	_, ff, _ := manifests.SplitIDs(ids)
	goos := o.OS
	if goos == "" {
		goos = runtime.GOOS
	}
	pattern := firefoxProfiles[goos]
	home := o.Home
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	switch {
	case pattern == "" || len(ff) == 0:
		return nil
	case strings.HasPrefix(pattern, "~/"):
		pattern = filepath.Join(home, filepath.FromSlash(pattern[2:]))
	default:
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		appdata := getenv("APPDATA")
		if appdata == "" {
			return nil
		}
		pattern = filepath.Join(appdata, filepath.FromSlash(strings.TrimPrefix(pattern, "%APPDATA%/")))
	}
	profiles, _ := filepath.Glob(pattern)
	var out []string
	for _, p := range profiles {
		b, err := readLimited(filepath.Join(p, "extensions.json"), maxExtensionsJSON)
		if err != nil {
			continue
		}
		var doc struct {
			Addons []struct {
				ID      string `json:"id"`
				Version string `json:"version"`
				Active  bool   `json:"active"`
			} `json:"addons"`
		}
		if json.Unmarshal(b, &doc) != nil {
			continue
		}
		for _, a := range doc.Addons {
			if slices.Contains(ff, a.ID) {
				state := "enabled"
				if !a.Active {
					state = "disabled"
				}
				out = append(out, fmt.Sprintf("%s %s (%s) in %s", a.ID, a.Version, state, p))
			}
		}
	}
	return out
}

func fixIf(cond bool, fix string) string {
	if cond {
		return fix
	}
	return ""
}

// extensionVersions finds installed versions of our Chromium-family
// extension in the profiles of the user-data dirs:
// <udd>/<profile>/Extensions/<id>/<version>_0.
func extensionVersions(ts []register.Target, ids []string) []string {
	chrome, _, _ := manifests.SplitIDs(ids)
	var out []string
	seen := map[string]bool{}
	for _, t := range ts {
		if t.UserDataDir == "" {
			continue
		}
		for _, id := range chrome {
			dirs, _ := filepath.Glob(filepath.Join(t.UserDataDir, "*", "Extensions", id, "*"))
			for _, d := range dirs {
				v := fmt.Sprintf("%s %s in %s", id, strings.TrimSuffix(filepath.Base(d), "_0"), filepath.Dir(filepath.Dir(filepath.Dir(d))))
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// hostExists checks that a manifest's host path is an executable file.
func hostExists(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("does not exist")
		}
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	if st.Mode()&0o111 == 0 && !strings.HasSuffix(strings.ToLower(path), ".exe") {
		return errors.New("is not executable")
	}
	return nil
}

// sandboxFix says what to do about a snap or flatpak browser.
func sandboxFix(sandbox string) string {
	if sandbox == "snap" {
		return "snap browsers cannot start oia-host: install the browser's .deb (Debian's chromium, Google's or Mozilla's APT repository) and use that one"
	}
	return "flatpak browsers cannot start oia-host: install the distribution's package of the browser and use that one"
}

func checkRegistration(_ context.Context, e *Env) []Finding {
	ts, err := register.Targets(e.Register, register.User, register.System)
	if err != nil {
		return []Finding{{Subject: "browsers", Status: Error, Detail: err.Error()}}
	}
	// Group the targets by browser, in table order.
	var order []string
	byBrowser := map[string][]register.Target{}
	for _, t := range ts {
		if _, ok := byBrowser[t.Browser]; !ok {
			order = append(order, t.Browser)
		}
		byBrowser[t.Browser] = append(byBrowser[t.Browser], t)
	}
	var fs []Finding
	anyBrowser := false
	for _, b := range order {
		group := byBrowser[b]
		installed := false
		var sandboxes []string
		for _, t := range group {
			installed = installed || t.Installed
			sandboxes = t.Sandboxes
		}
		policy, pfs := e.Policy.Read(group[0])
		fs = append(fs, pfs...)
		blocked, userLevelOff := false, false
		if group[0].Family == manifests.Chromium {
			blocked, userLevelOff = chromiumVerdict(policy)
		} else {
			_, ff, _ := manifests.SplitIDs(e.Register.ExtensionIDs)
			for _, id := range ff {
				if firefoxBlocked(policy, id) {
					fs = append(fs, Finding{Subject: b + " policy", Status: Error,
						Detail: fmt.Sprintf("ExtensionSettings in %s block the add-on %s", policy.source("ExtensionSettings"), id),
						Fix:    "allow the add-on in Firefox's ExtensionSettings policy ('oia policy firefox' writes one)"})
				}
			}
		}
		if blocked {
			fs = append(fs, Finding{Subject: b + " policy", Status: Error,
				Detail: fmt.Sprintf("NativeMessagingBlocklist in %s blocks native hosts and NativeMessagingAllowlist lacks %s", policy.source("NativeMessagingBlocklist"), manifests.HostName),
				Fix:    "add " + manifests.HostName + " to NativeMessagingAllowlist ('oia policy chrome' writes it)"})
		}
		working := false
		var found bool
		var ignored []Finding // per-user registrations that policy disables
		for _, t := range group {
			b, err := readLimited(t.File, manifests.MaxManifestSize)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			found = true
			subject := fmt.Sprintf("%s %s manifest %s", t.Browser, t.Scope, t.File)
			if err != nil {
				fs = append(fs, Finding{Subject: subject, Status: Error, Detail: err.Error(), Fix: "run 'oia install'"})
				continue
			}
			m, err := manifests.Parse(b)
			if err != nil {
				fs = append(fs, Finding{Subject: subject, Status: Error, Detail: err.Error(), Fix: reinstallFix(t)})
				continue
			}
			problems := manifests.Check(t.Family, m, e.Register.ExtensionIDs, hostExists)
			for _, p := range problems {
				fix := p.Fix
				if strings.HasPrefix(fix, "run 'oia install'") {
					fix = reinstallFix(t) + strings.TrimPrefix(fix, "run 'oia install'")
				}
				fs = append(fs, Finding{Subject: subject, Status: Error, Detail: p.What, Fix: fix})
			}
			if len(problems) > 0 {
				continue
			}
			if t.Scope == register.User && userLevelOff {
				ignored = append(ignored, Finding{Subject: subject,
					Detail: "NativeMessagingUserLevelHosts is false in " + policy.source("NativeMessagingUserLevelHosts") + ", so the browser ignores this per-user registration"})
				continue
			}
			if t.RegistryKey != "" {
				v, ok, err := register.KeyValue(e.Register, t)
				if err != nil || !ok || !strings.EqualFold(v, t.BrowserPath) {
					detail := "registry key " + hive(t.Scope) + t.RegistryKey + " is missing"
					if err != nil {
						detail = fmt.Sprintf("registry key %s%s: %v", hive(t.Scope), t.RegistryKey, err)
					} else if ok {
						detail = fmt.Sprintf("registry key %s%s points at %s, not this manifest", hive(t.Scope), t.RegistryKey, v)
					}
					fs = append(fs, Finding{Subject: subject, Status: Error, Detail: detail, Fix: reinstallFix(t)})
					continue
				}
			}
			working = true
			fs = append(fs, Finding{Subject: subject, Status: OK, Detail: "registered, host " + m.Path})
		}
		for _, f := range ignored {
			// Harmless when a system-wide registration works.
			f.Status, f.Fix = Error, "register system-wide: sudo oia install --system"
			if working {
				f.Status, f.Fix = Warning, "the system-wide registration is used; 'oia uninstall' removes this one"
			}
			fs = append(fs, f)
		}
		for _, s := range sandboxes {
			fs = append(fs, Finding{Subject: b, Status: Warning, Detail: "installed as a " + s, Fix: sandboxFix(s)})
		}
		switch {
		case !installed && !found:
			fs = append(fs, Finding{Subject: b, Status: Info, Detail: "not installed"})
		case installed && !working && !found:
			fs = append(fs, Finding{Subject: b, Status: Error, Detail: "installed, but oia-host is not registered for it",
				Fix: fixForScope(userLevelOff)})
		}
		anyBrowser = anyBrowser || installed
	}
	if !anyBrowser {
		fs = append(fs, Finding{Subject: "browsers", Status: Error, Detail: "no supported browser found",
			Fix: "install Chrome, Edge, Chromium, Brave, Vivaldi or Firefox from its .deb, .rpm or installer"})
	}
	return fs
}

func hive(s register.Scope) string {
	if s == register.System {
		return `HKLM\`
	}
	return `HKCU\`
}

func reinstallFix(t register.Target) string {
	if t.Scope == register.System {
		return "run 'sudo oia install --system'"
	}
	return "run 'oia install'"
}

func fixForScope(systemOnly bool) string {
	if systemOnly {
		return "run 'sudo oia install --system' (policy disables per-user hosts)"
	}
	return "run 'oia install' (or 'sudo oia install --system' for every user)"
}

func checkCard(_ context.Context, e *Env) []Finding {
	if e.cfg == nil {
		return nil
	}
	if e.Cards == nil {
		return []Finding{{Subject: "smartcard", Status: Info, Detail: "not checked: this oia was built without PKCS#11 support"}}
	}
	var fs []Finding
	loaded, cards := 0, 0
	for _, mod := range e.cfg.PKCS11Modules {
		if e.cfg.DefaultModules {
			if _, err := os.Stat(mod); err != nil {
				continue // a built-in default that is not installed here
			}
		}
		tokens, err := e.Cards.Tokens(mod)
		if err != nil {
			fs = append(fs, Finding{Subject: "module " + mod, Status: Error, Detail: err.Error(),
				Fix: "install the smartcard middleware, or fix pkcs11Modules in the configuration"})
			continue
		}
		loaded++
		cards += len(tokens)
		detail := "loads; no card"
		if len(tokens) > 0 {
			detail = "loads; card " + strings.Join(tokens, ", ")
		}
		fs = append(fs, Finding{Subject: "module " + mod, Status: OK, Detail: detail})
	}
	if loaded == 0 && len(fs) == 0 {
		fs = append(fs, Finding{Subject: "smartcard", Status: Error, Detail: "no PKCS#11 module is installed",
			Fix: "install the smartcard middleware (e.g. opensc), or set pkcs11Modules in the configuration"})
	}
	if loaded > 0 && cards == 0 {
		st := Warning
		if e.RequireCard {
			st = Error
		}
		fs = append(fs, Finding{Subject: "smartcard", Status: st, Detail: "no card is inserted",
			Fix: "insert the smartcard; if it is inserted, check the reader and its middleware"})
	}
	return fs
}

func checkBroker(ctx context.Context, e *Env) []Finding {
	if e.cfg == nil || e.Broker == nil {
		return nil
	}
	u, err := e.cfg.BrokerBaseURL()
	if err != nil {
		return []Finding{{Subject: "broker", Status: Error, Detail: err.Error(), Fix: "fix brokerEnvironment or brokerURL in the configuration"}}
	}
	detail, err := e.Broker.Probe(ctx, e.cfg)
	if err != nil {
		return []Finding{{Subject: "broker " + u.String(), Status: Error, Detail: err.Error(),
			Fix: "check the network (HSCN/VPN) and proxy; for a TLS error set caBundle to the NHS roots"}}
	}
	return []Finding{{Subject: "broker " + u.String(), Status: OK, Detail: detail}}
}

func checkLog(_ context.Context, e *Env) []Finding {
	if e.cfg == nil {
		return nil
	}
	if e.cfg.LogFile != "" {
		return []Finding{{Subject: "log", Status: Info, Detail: e.cfg.LogFile + " (from the configuration)"}}
	}
	if e.LogPath == nil {
		return []Finding{{Subject: "log", Status: Info, Detail: "oia-host's default per-user log file (see docs/installer.md)"}}
	}
	p, err := e.LogPath(e.cfg)
	if err != nil {
		return []Finding{{Subject: "log", Status: Warning, Detail: err.Error()}}
	}
	return []Finding{{Subject: "log", Status: Info, Detail: p}}
}
