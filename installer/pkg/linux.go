// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package pkg builds what a trust deploys: the Linux .deb and .rpm (with
// nfpm as a library), the Chrome CRX3 and its update manifest, and the
// Authenticode signature of the Windows executables. `make package` runs
// it through installer/tools/mkpkg; docs/deployment.md describes the
// outputs.
//
// # Reproducibility
//
// Every archive takes its timestamps from [Options.MTime] (the caller uses
// SOURCE_DATE_EPOCH or the last commit's time), its file modes from this
// package and its file order from sorted names, so building twice from the
// same inputs gives the same bytes.
package pkg

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"

	"github.com/openidentityagent/oia/installer/register"
	"github.com/openidentityagent/oia/manifests"
)

// PackageName is the name of the Linux package.
const PackageName = "oia"

// Installed paths of the binaries.
const (
	HostPath = "/usr/bin/oia-host"
	OIAPath  = "/usr/bin/oia"
	// SystemConfigDir holds the system configuration (host/config).
	SystemConfigDir = "/etc/oia"
	// AutostartPath starts the per-desktop agent when a user's desktop
	// session starts (the XDG autostart specification), so that a card
	// already in the reader is read before the first page asks; the agent
	// still starts on demand where a desktop ignores autostart.
	AutostartPath = "/etc/xdg/autostart/org.openidentityagent.agent.desktop"
)

// autostartEntry is the desktop entry at AutostartPath. A user turns it
// off with a copy in ~/.config/autostart holding Hidden=true.
const autostartEntry = `[Desktop Entry]
Type=Application
Name=Open Identity Agent
Comment=NHS smartcard login: the agent that keeps the card's session for every browser
Exec=/usr/bin/oia agent
Icon=security-high
Terminal=false
NoDisplay=true
X-GNOME-Autostart-enabled=true
`

// Options say what goes into a Linux package.
type Options struct {
	// Version is the package version (the VERSION file).
	Version string
	// Arch is a Go architecture name (amd64, arm64).
	Arch string
	// Host and OIA are the built oia-host and oia binaries for Arch.
	Host, OIA string
	// License is the LICENSE file, shipped as the copyright file.
	License string
	// ExtensionIDs are written into the host manifests: the published ids
	// of the extension, never the development id in a release.
	ExtensionIDs []string
	// MTime is the time stamped on every file and archive member.
	MTime time.Time
	// TicketAPI is the built libTicketApi.so for Arch (docs/ticket-api.md),
	// shipped where the dynamic loader finds it; empty ships none.
	TicketAPI string
	// Compression is the .deb's data compression: "" (gzip), "xz", "zstd"
	// or "none" (tests, where speed matters more than size).
	Compression string
}

// ManifestFiles returns the system-wide host manifests a Linux package
// ships for format ("deb" or "rpm"): destination path to content, for every
// browser of the Linux table. RPM distributions' Firefox reads
// /usr/lib64/mozilla; Debian's reads /usr/lib/mozilla.
func ManifestFiles(format string, ids []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, l := range register.Locations {
		if l.OS != "linux" {
			continue
		}
		b, err := manifests.Render(l.Family, manifests.Data{Path: HostPath, ExtensionIDs: ids})
		if err != nil {
			return nil, err
		}
		dirs := l.SystemDirs[:1]
		if format == "rpm" && l.Family == manifests.Firefox {
			dirs = l.SystemDirs // /usr/lib and /usr/lib64
		}
		for _, d := range dirs {
			out[d+"/"+manifests.FileName] = b
		}
	}
	return out, nil
}

// Linux writes the .deb or .rpm (format "deb" or "rpm") for o to w's path
// and returns that path: <outDir>/oia_<version>_<arch>.deb or
// oia-<version>-1.<arch>.rpm.
func Linux(format string, o Options, outDir string) (string, error) {
	if !slices.Contains([]string{"deb", "rpm"}, format) {
		return "", fmt.Errorf("unknown package format %q; use deb or rpm", format)
	}
	inputs := []string{o.Host, o.OIA, o.License}
	if o.TicketAPI != "" {
		inputs = append(inputs, o.TicketAPI)
	}
	for _, p := range inputs {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("package input missing: %v; run 'make build' first", err)
		}
	}
	staging, err := os.MkdirTemp("", "oia-pkg-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(staging)

	mf, err := ManifestFiles(format, o.ExtensionIDs)
	if err != nil {
		return "", err
	}
	dests := make([]string, 0, len(mf))
	for d := range mf {
		dests = append(dests, d)
	}
	slices.Sort(dests)

	info := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: o.MTime}
	}
	contents := files.Contents{
		{Source: o.Host, Destination: HostPath, FileInfo: info(0o755)},
		{Source: o.OIA, Destination: OIAPath, FileInfo: info(0o755)},
		{Source: o.License, Destination: "/usr/share/doc/oia/copyright", FileInfo: info(0o644)},
		// The system configuration's folder, root's alone to write: the
		// host ignores a system file others could change (docs/security.md).
		{Destination: SystemConfigDir, Type: files.TypeDir, FileInfo: info(0o755)},
	}
	if o.TicketAPI != "" {
		contents = append(contents, &files.Content{Source: o.TicketAPI, Destination: TicketAPIPath(format, o.Arch), FileInfo: info(0o644)})
	}
	autostart := filepath.Join(staging, "autostart.desktop")
	if err := os.WriteFile(autostart, []byte(autostartEntry), 0o644); err != nil {
		return "", err
	}
	if err := os.Chtimes(autostart, o.MTime, o.MTime); err != nil {
		return "", err
	}
	// A configuration file: an administrator's edit or removal survives an
	// upgrade (a conffile on Debian, %config(noreplace) on RPM).
	contents = append(contents, &files.Content{Source: autostart, Destination: AutostartPath, Type: files.TypeConfigNoReplace, FileInfo: info(0o644)})
	for i, d := range dests {
		src := filepath.Join(staging, fmt.Sprintf("manifest-%d.json", i))
		if err := os.WriteFile(src, mf[d], 0o644); err != nil {
			return "", err
		}
		if err := os.Chtimes(src, o.MTime, o.MTime); err != nil {
			return "", err
		}
		contents = append(contents, &files.Content{Source: src, Destination: d, FileInfo: info(0o644)})
	}

	pi := &nfpm.Info{
		Name:        PackageName,
		Arch:        o.Arch,
		Platform:    "linux",
		Version:     o.Version,
		Release:     "1",
		Section:     "utils",
		Priority:    "optional",
		Maintainer:  "Open Identity Agent authors <security@openidentityagent.org>",
		Description: "Open Identity Agent: NHS smartcard login for web browsers\nThe native-messaging host (oia-host) that the Open Identity Agent browser\nextension talks to, registered for Chrome, Chromium, Edge, Brave, Vivaldi\nand Firefox, and the oia command (install, doctor, policy).",
		Vendor:      "Open Identity Agent",
		Homepage:    "https://openidentityagent.org",
		License:     "MIT",
		MTime:       o.MTime,
		Overridables: nfpm.Overridables{
			Contents:   contents,
			Recommends: []string{"opensc"},
			RPM:        nfpm.RPM{BuildHost: "oia-build", Group: "Applications/System", Summary: "NHS smartcard login for web browsers"},
			Deb:        nfpm.Deb{Compression: o.Compression},
		},
	}
	pi = nfpm.WithDefaults(pi)
	if err := nfpm.PrepareForPackager(pi, format); err != nil {
		return "", err
	}
	var packager nfpm.Packager = deb.Default
	if format == "rpm" {
		packager = rpm.DefaultRPM
	}
	var buf bytes.Buffer
	if err := packager.Package(pi, &buf); err != nil {
		return "", fmt.Errorf("build %s: %w", format, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, packager.ConventionalFileName(pi))
	return out, os.WriteFile(out, buf.Bytes(), 0o644)
}

// TicketAPIPath is where the package puts libTicketApi.so: Debian's
// multiarch folder for the architecture, or /usr/lib64 (64-bit) and
// /usr/lib for an .rpm, so that dlopen("libTicketApi.so") finds it.
func TicketAPIPath(format, arch string) string {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu"}[arch]
	switch {
	case format == "deb" && triplet != "":
		return "/usr/lib/" + triplet + "/libTicketApi.so"
	case format == "rpm" && (arch == "amd64" || arch == "arm64"):
		return "/usr/lib64/libTicketApi.so"
	}
	return "/usr/lib/libTicketApi.so"
}
