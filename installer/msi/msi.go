// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package msi builds the Windows Installer package, oia-<version>-x64.msi,
// with wixl (msitools) from the template oia.wxs: a per-machine install of
// oia-host.exe and oia.exe in C:\Program Files\OIA, the host manifests and
// their HKLM native-messaging keys (the same as `oia install --system`
// writes, from the same table), the Ticket API DLLs in System32 and
// SysWOW64, and the system configuration from public properties. An
// optional feature, Policy (ADDLOCAL=Host,TicketAPI,Policy), installs the
// extension from its store and sets its managed allowedOrigins, through
// keys named after the extension ids alone (see [Installs] and
// installer/policy's ManagedValues). docs/installer.md §7 describes the
// package; docs/deployment.md the msiexec command lines.
//
// # Reproducibility
//
// wixl stamps the summary information with the time of the build and a
// random package code, and the cabinet with the files' modification times.
// [Build] sets every staged file's time to [Options.MTime], then rewrites
// the summary information (msibuild) with MTime and a package code derived
// from the rest of the package's bytes, so building twice from the same
// inputs gives the same bytes. The product code is derived from the
// version, so a rebuild of one version stays the same product and another
// version is a major upgrade.
package msi

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/openidentityagent/oia/installer/register"
	"github.com/openidentityagent/oia/manifests"
)

// UpgradeCode identifies Open Identity Agent across versions: every
// package carries it, so Windows Installer replaces an older version with
// a newer one. Never change it.
const UpgradeCode = "{6F1B3C1E-5E0A-4B8E-9C57-0A1D4F5B7E21}"

// Where the package installs. The host manifests name the host by its
// absolute path, so the folder is fixed (a launch condition refuses a
// machine whose Program Files folder is elsewhere).
const (
	ProgramFiles = `C:\Program Files\`
	FolderName   = "OIA"
	InstallDir   = ProgramFiles + FolderName + `\`
	HostPath     = InstallDir + "oia-host.exe"
)

// Properties are the public properties an administrator may pass to
// msiexec, in the order docs/deployment.md lists them, with the
// configuration key (host/config) each one sets.
var Properties = []struct{ Name, Key string }{
	{"BROKER_ENV", "brokerEnvironment"},
	{"ALLOWED_ORIGINS", "allowedOrigins"},
}

//go:embed oia.wxs
var wxsTemplate string

// Options say what goes into the package.
type Options struct {
	// Version is the product version (the VERSION file): three numbers.
	Version string
	// Host and OIA are oia-host.exe and oia.exe, already signed.
	Host, OIA string
	// TicketAPI32 and TicketAPI64 are the x86 and x64 TicketApiDll.dll,
	// already signed.
	TicketAPI32, TicketAPI64 string
	// ExtensionIDs are written into the host manifests, and the Policy
	// feature sets the managed settings of each. The first Chrome id is
	// the extension in the Chrome Web Store, which the Policy feature
	// installs in Chrome (and in Edge when EdgeID is empty).
	ExtensionIDs []string
	// EdgeID is the extension's id in Microsoft Edge Add-ons, one of
	// ExtensionIDs; empty means Edge installs the Chrome Web Store's.
	EdgeID string
	// MTime is the time stamped on the files and the summary information.
	MTime time.Time
}

// The stores' update URLs that the Policy feature gives the browsers to
// install the extension from: "Alternative extension distribution options"
// (Chrome for Developers: on Windows the registry's update_url must be the
// Chrome Web Store's) and "Alternative ways to distribute extensions"
// (Microsoft Edge Developer documentation: Edge Add-ons' URL, or the Chrome
// Web Store's for an extension from there).
const (
	ChromeWebStoreUpdateURL = "https://clients2.google.com/service/update2/crx"
	EdgeAddonsUpdateURL     = "https://edge.microsoft.com/extensionwebstorebase/v1/crx"
)

// Install is one browser's key in the Policy feature that installs the
// extension from a store: HKLM\Key (32-bit view, where both documents put
// it on 64-bit Windows), value update_url = URL. The key is named after
// the extension id and belongs to it alone, unlike ExtensionInstallForcelist
// or ExtensionSettings, which every product on the machine shares.
type Install struct {
	Name, Title, ID, Key, URL string
}

// Installs returns the keys that install the extension in Chrome and Edge,
// for the first Chrome id of ids and edgeID (empty: Edge installs the
// Chrome id from the Chrome Web Store). No Chrome id, no keys.
func Installs(ids []string, edgeID string) ([]Install, error) {
	chrome, _, err := manifests.SplitIDs(ids)
	if err != nil {
		return nil, err
	}
	if edgeID != "" && !slices.Contains(chrome, edgeID) {
		return nil, fmt.Errorf("the Edge id %s is not among the Chrome ids %v of the build; add it to EXTENSION_IDS so the host trusts it", edgeID, chrome)
	}
	if len(chrome) == 0 {
		return nil, nil
	}
	edge := Install{"edge", "Microsoft Edge", chrome[0], `Software\Microsoft\Edge\Extensions\` + chrome[0], ChromeWebStoreUpdateURL}
	if edgeID != "" {
		edge.ID, edge.Key, edge.URL = edgeID, `Software\Microsoft\Edge\Extensions\`+edgeID, EdgeAddonsUpdateURL
	}
	return []Install{
		{"chrome", "Google Chrome", chrome[0], `Software\Google\Chrome\Extensions\` + chrome[0], ChromeWebStoreUpdateURL},
		edge,
	}, nil
}

// FileName is the package's file name for a version.
func FileName(version string) string { return "oia-" + version + "-x64.msi" }

// ProductCode is the product code of a version: a name-based UUID, so
// that each version is its own product and a rebuild is the same one.
func ProductCode(version string) string { return nameUUID("product/" + version) }

// nameUUID derives a UUID (version 5 layout, SHA-256) from a name.
func nameUUID(name string) string {
	h := sha256.Sum256([]byte("org.openidentityagent.msi/" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("{%x-%x-%x-%x-%x}", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

var versionRE = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,5}$`)

// Browser is one browser's host manifest and key in the package.
type Browser struct {
	// Name is the short browser name and the manifest's folder under
	// NativeMessagingHosts.
	Name, Title string
	// Family says which manifest the browser reads.
	Family manifests.Family
	// Key is the registry key under HKLM whose default value is the
	// manifest's path.
	Key string
	// Source is the staged manifest, relative to the staging folder.
	Source string
}

// Browsers lists the manifests and keys the package installs: every
// Windows row of register.Locations for a system-wide registration of
// HostPath, so the package writes what `oia install --system --force`
// writes.
func Browsers() ([]Browser, error) {
	ts, err := register.Targets(register.Options{OS: "windows", Scope: register.System, HostPath: HostPath,
		Force: true, Home: `C:\Users\Default`, Getenv: func(string) string { return "" }})
	if err != nil {
		return nil, err
	}
	var bs []Browser
	for _, t := range ts {
		dir := strings.ReplaceAll(filepath.Dir(filepath.ToSlash(t.File)), `\`, "/")
		want := strings.ReplaceAll(InstallDir, `\`, "/") + "NativeMessagingHosts/"
		name, ok := strings.CutPrefix(dir, want)
		if !ok || strings.Contains(name, "/") || t.RegistryKey == "" {
			return nil, fmt.Errorf("register's Windows row %s is not a folder of %s with a registry key; installer/msi must learn the new layout", t.Browser, want)
		}
		bs = append(bs, Browser{Name: name, Title: t.Title, Family: t.Family, Key: t.RegistryKey,
			Source: "manifests/" + name + ".json"})
	}
	return bs, nil
}

// Manifest returns the host manifest the package installs for b.
func Manifest(b Browser, ids []string) ([]byte, error) {
	return manifests.Render(b.Family, manifests.Data{Path: HostPath, ExtensionIDs: ids})
}

// Build writes the unsigned package FileName(o.Version) into outDir and
// returns its path. It needs wixl, msibuild and msiinfo (msitools).
func Build(ctx context.Context, o Options, outDir string) (string, error) {
	if !versionRE.MatchString(o.Version) {
		return "", fmt.Errorf("version %q is not three numbers (major.minor.build) as Windows Installer needs; fix the VERSION file", o.Version)
	}
	for _, tool := range []string{"wixl", "msibuild", "msiinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("no %s to build the MSI; install wixl and msitools (scripts/deps.sh package)", tool)
		}
	}
	if o.MTime.IsZero() {
		return "", errors.New("no MTime: set SOURCE_DATE_EPOCH so the package is reproducible")
	}
	stage, err := os.MkdirTemp("", "oia-msi-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)

	bs, err := Browsers()
	if err != nil {
		return "", err
	}
	files := map[string][]byte{}
	for src, dst := range map[string]string{o.Host: "oia-host.exe", o.OIA: "oia.exe",
		o.TicketAPI32: "x86/TicketApiDll.dll", o.TicketAPI64: "x64/TicketApiDll.dll"} {
		if src == "" {
			return "", fmt.Errorf("no input for %s; make package-windows builds it", dst)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		files[dst] = b
	}
	for _, b := range bs {
		m, err := Manifest(b, o.ExtensionIDs)
		if err != nil {
			return "", fmt.Errorf("%s manifest: %w", b.Name, err)
		}
		files[b.Source] = m
	}
	ins, err := Installs(o.ExtensionIDs, o.EdgeID)
	if err != nil {
		return "", err
	}
	wxs, err := renderWXS(o.Version, bs, ins, o.ExtensionIDs)
	if err != nil {
		return "", err
	}
	files["oia.wxs"] = wxs
	for name, data := range files {
		p := filepath.Join(stage, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
		// wixl stamps each file's time into the cabinet.
		if err := os.Chtimes(p, o.MTime, o.MTime); err != nil {
			return "", err
		}
	}

	tmp := filepath.Join(stage, "oia.msi")
	if err := run(ctx, stage, nil, "wixl", "--arch", "x64", "-o", tmp, "oia.wxs"); err != nil {
		return "", err
	}
	if err := pin(ctx, stage, tmp, o.MTime); err != nil {
		return "", err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	data, err := os.ReadFile(tmp)
	if err != nil {
		return "", err
	}
	out := filepath.Join(outDir, FileName(o.Version))
	return out, os.WriteFile(out, data, 0o644)
}

func renderWXS(version string, bs []Browser, ins []Install, ids []string) ([]byte, error) {
	t, err := template.New("oia.wxs").Funcs(template.FuncMap{}).Parse(wxsTemplate)
	if err != nil {
		return nil, err
	}
	esc := func(s string) string {
		var b strings.Builder
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	for i := range bs {
		bs[i].Title, bs[i].Key = esc(bs[i].Title), esc(bs[i].Key)
	}
	var b bytes.Buffer
	err = t.Execute(&b, map[string]any{
		"Version": version, "ProductCode": ProductCode(version), "UpgradeCode": UpgradeCode,
		"Manufacturer": "The Open Identity Agent authors", "ProgramFiles": ProgramFiles,
		"FolderName": FolderName, "ManifestName": manifests.FileName, "Browsers": bs,
		"Installs": ins, "PolicyIDs": esc(strings.Join(ids, ",")),
	})
	return b.Bytes(), err
}

// pin makes what wixl leaves to chance fixed: the public properties join
// SecureCustomProperties (wixl has no Property/@Secure), so that they reach
// the elevated part of the installation; and the summary information gets
// mtime as its creation and save times and a package code derived from the
// package's other bytes (the package code names one exact package).
func pin(ctx context.Context, dir, msiPath string, mtime time.Time) error {
	props, err := exportTable(ctx, dir, msiPath, "Property")
	if err != nil {
		return err
	}
	secure := ""
	for _, line := range strings.Split(props, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "SecureCustomProperties\t"); ok {
			secure = v
		}
	}
	var names []string
	for _, p := range Properties {
		names = append(names, p.Name)
	}
	if secure == "" {
		return errors.New("wixl wrote no SecureCustomProperties (MajorUpgrade adds them); check oia.wxs")
	}
	q := fmt.Sprintf("UPDATE `Property` SET `Value` = '%s;%s' WHERE `Property` = 'SecureCustomProperties'", secure, strings.Join(names, ";"))
	if err := run(ctx, dir, nil, "msibuild", msiPath, "-q", q); err != nil {
		return err
	}
	sum, err := exportTable(ctx, dir, msiPath, "_SummaryInformation")
	if err != nil {
		return err
	}
	stamp := mtime.UTC().Format("2006/01/02 15:04:05")
	write := func(uuid string) error {
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimRight(sum, "\r\n"), "\n") {
			line = strings.TrimRight(line, "\r")
			switch {
			case strings.HasPrefix(line, "9\t"):
				line = "9\t" + uuid
			case strings.HasPrefix(line, "12\t"), strings.HasPrefix(line, "13\t"):
				line = line[:strings.Index(line, "\t")+1] + stamp
			}
			b.WriteString(line + "\r\n")
		}
		idtDir, err := os.MkdirTemp(dir, "idt-")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(idtDir, "_SummaryInformation.idt"), []byte(b.String()), 0o644); err != nil {
			return err
		}
		// msibuild reads the times as local time: UTC makes them mtime.
		return run(ctx, idtDir, []string{"TZ=UTC"}, "msibuild", msiPath, "-i", "_SummaryInformation.idt")
	}
	if err := write("{00000000-0000-0000-0000-000000000000}"); err != nil {
		return err
	}
	data, err := os.ReadFile(msiPath)
	if err != nil {
		return err
	}
	return write(nameUUID(fmt.Sprintf("package/%x", sha256.Sum256(data))))
}

func exportTable(ctx context.Context, dir, msiPath, table string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "msiinfo", "export", msiPath, table)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, io.Discard
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("msiinfo export %s: %v", table, err)
	}
	return out.String(), nil
}

// run runs a tool in dir and returns its output in the error when it fails.
func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s: %v: %s", name, err, msg)
	}
	return nil
}
