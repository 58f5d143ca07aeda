// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package manifests holds the native-messaging host manifest templates and
// the policy templates that the oia command and the packages fill in, and
// the rules for reading a host manifest back.
//
// The templates live in this folder (not under installer/) because
// //go:embed cannot reach a parent directory; [FS] exposes them.
//
// # Host manifests
//
// Browsers of the Chromium family (Chrome, Chromium, Edge, Brave, Vivaldi)
// read a manifest with "allowed_origins" (chrome-extension://<id>/, with the
// trailing slash); Firefox reads one with "allowed_extensions" (add-on ids).
// [Render] writes either from the same [Data]; [Parse] and [Check] read one
// back and list what a browser would reject, with the fix.
package manifests

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// FS holds the templates: chromium.json.tmpl, firefox.json.tmpl and the
// policy templates under policy/.
//
//go:embed *.tmpl policy
var FS embed.FS

// HostName is the native-messaging host's name: the manifest's "name" and,
// on Linux and macOS, its file name without ".json".
const HostName = "org.openidentityagent.host"

// FileName is the manifest's file name on Linux and macOS.
const FileName = HostName + ".json"

// Description is the manifest's "description".
const Description = "Open Identity Agent: NHS smartcard login"

// HostBinary is the host executable's base name without an extension; on
// Windows the file is HostBinary + ".exe".
const HostBinary = "oia-host"

// Family is the kind of host manifest a browser reads.
type Family string

const (
	// Chromium is the family of Chrome, Chromium, Edge, Brave and Vivaldi:
	// manifests with "allowed_origins".
	Chromium Family = "chromium"
	// Firefox is the family of Firefox and Firefox ESR: manifests with
	// "allowed_extensions".
	Firefox Family = "firefox"
)

// Data is what a host manifest says.
type Data struct {
	// Path is the absolute path of oia-host.
	Path string
	// ExtensionIDs are the extension ids allowed to start the host: Chrome
	// ids (32 letters a-p) go to allowed_origins, Firefox add-on ids (with
	// an @ or in {braces}) to allowed_extensions.
	ExtensionIDs []string
}

// Manifest is a host manifest as a browser reads it.
type Manifest struct {
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	Path              string   `json:"path"`
	Type              string   `json:"type"`
	AllowedOrigins    []string `json:"allowed_origins,omitempty"`
	AllowedExtensions []string `json:"allowed_extensions,omitempty"`
}

// MaxManifestSize bounds the manifest files this package reads.
const MaxManifestSize = 64 << 10

var (
	chromeID  = regexp.MustCompile(`^[a-p]{32}$`)
	firefoxID = regexp.MustCompile(`^(\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}|[A-Za-z0-9._+-]*@[A-Za-z0-9._-]+)$`)
)

// IsChromeID reports whether id is a Chromium-family extension id.
func IsChromeID(id string) bool { return chromeID.MatchString(id) }

// IsFirefoxID reports whether id is a Firefox add-on id: an email-like id
// or a {GUID}.
func IsFirefoxID(id string) bool { return len(id) <= 80 && firefoxID.MatchString(id) }

// ChromeOrigin is the allowed_origins entry for a Chrome extension id.
func ChromeOrigin(id string) string { return "chrome-extension://" + id + "/" }

// SplitIDs sorts extension ids into Chrome ids and Firefox ids, keeping
// their order and dropping duplicates. An id that is neither is an error.
func SplitIDs(ids []string) (chrome, firefox []string, err error) {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		switch {
		case IsChromeID(id):
			chrome = append(chrome, id)
		case IsFirefoxID(id):
			firefox = append(firefox, id)
		default:
			return nil, nil, fmt.Errorf("extension id %q is neither a Chrome id (32 letters a-p) nor a Firefox add-on id (name@domain or {guid}); check --extension-id or allowedExtensions in the config", id)
		}
	}
	return chrome, firefox, nil
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}).ParseFS(FS, "*.tmpl"))

// Render returns the host manifest for a browser family. The host path must
// be absolute, and the family must have at least one extension id among
// d.ExtensionIDs.
func Render(f Family, d Data) ([]byte, error) {
	if !isAbs(d.Path) {
		return nil, fmt.Errorf("host path %q is not absolute; browsers ignore a manifest with a relative path, pass an absolute --host", d.Path)
	}
	chrome, firefox, err := SplitIDs(d.ExtensionIDs)
	if err != nil {
		return nil, err
	}
	v := struct {
		Name, Description, Path           string
		AllowedOrigins, AllowedExtensions []string
	}{Name: HostName, Description: Description, Path: d.Path}
	var name string
	switch f {
	case Chromium:
		if len(chrome) == 0 {
			return nil, fmt.Errorf("no Chrome extension id to allow; pass --extension-id with a 32-letter id")
		}
		for _, id := range chrome {
			v.AllowedOrigins = append(v.AllowedOrigins, ChromeOrigin(id))
		}
		name = "chromium.json.tmpl"
	case Firefox:
		if len(firefox) == 0 {
			return nil, fmt.Errorf("no Firefox add-on id to allow; pass --extension-id with an id like name@domain")
		}
		v.AllowedExtensions = firefox
		name = "firefox.json.tmpl"
	default:
		return nil, fmt.Errorf("unknown browser family %q", f)
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Parse reads a host manifest. It fails on invalid JSON, on input larger
// than [MaxManifestSize] and on fields of the wrong type.
func Parse(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("manifest is %d bytes, more than %d; it is not a host manifest", len(b), MaxManifestSize)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON (%v); run 'oia install' to rewrite it", err)
	}
	return &m, nil
}

// IsOurs reports whether m is a manifest that OIA wrote: it has our name and
// points at an oia-host executable. Uninstall removes only such manifests.
func (m *Manifest) IsOurs() bool {
	if m.Name != HostName {
		return false
	}
	base := m.Path
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	return base == HostBinary || strings.EqualFold(base, HostBinary+".exe")
}

// Problem is one thing wrong with a manifest, with the fix in one line.
type Problem struct {
	// What is wrong, e.g. "path is relative".
	What string `json:"problem"`
	// Fix is what to do about it.
	Fix string `json:"fix"`
}

// Check lists what a browser of family f would reject in m, or what stops
// it reaching oia-host, given the ids that should be allowed. hostExists
// reports whether the manifest's path is an existing executable; it is
// called only for an absolute path.
func Check(f Family, m *Manifest, wantIDs []string, hostExists func(path string) error) []Problem {
	var ps []Problem
	reinstall := "run 'oia install' to rewrite it"
	if m.Name != HostName {
		ps = append(ps, Problem{fmt.Sprintf("name is %q, not %q", m.Name, HostName), reinstall})
	}
	if m.Type != "stdio" {
		ps = append(ps, Problem{fmt.Sprintf("type is %q, not \"stdio\"", m.Type), reinstall})
	}
	switch {
	case m.Path == "":
		ps = append(ps, Problem{"path is empty", reinstall})
	case !isAbs(m.Path):
		ps = append(ps, Problem{fmt.Sprintf("path %q is relative; browsers need an absolute path", m.Path), "run 'oia install --host /absolute/path/to/oia-host'"})
	default:
		if err := hostExists(m.Path); err != nil {
			ps = append(ps, Problem{fmt.Sprintf("host %s: %v", m.Path, err), "reinstall the package, or run 'oia install --host PATH' with the real oia-host"})
		}
	}
	chrome, firefox, _ := SplitIDs(wantIDs)
	switch f {
	case Chromium:
		if len(m.AllowedOrigins) == 0 {
			ps = append(ps, Problem{"allowed_origins is empty or missing", reinstall})
		}
		for _, o := range m.AllowedOrigins {
			id, ok := strings.CutPrefix(o, "chrome-extension://")
			switch {
			case !ok:
				ps = append(ps, Problem{fmt.Sprintf("allowed_origins entry %q is not a chrome-extension:// origin", o), reinstall})
			case strings.Contains(id, "*"):
				ps = append(ps, Problem{fmt.Sprintf("allowed_origins entry %q has a wildcard, which Chromium rejects", o), reinstall})
			case !strings.HasSuffix(id, "/"):
				ps = append(ps, Problem{fmt.Sprintf("allowed_origins entry %q lacks the trailing /, so Chromium ignores the whole manifest", o), reinstall})
			case !IsChromeID(strings.TrimSuffix(id, "/")):
				ps = append(ps, Problem{fmt.Sprintf("allowed_origins entry %q does not hold a Chrome extension id", o), reinstall})
			}
		}
		for _, id := range chrome {
			if !contains(m.AllowedOrigins, ChromeOrigin(id)) {
				ps = append(ps, Problem{fmt.Sprintf("extension %s is not in allowed_origins, so the browser forbids it to start the host", id), reinstall})
			}
		}
	case Firefox:
		if len(m.AllowedExtensions) == 0 {
			ps = append(ps, Problem{"allowed_extensions is empty or missing", reinstall})
		}
		for _, id := range firefox {
			if !contains(m.AllowedExtensions, id) {
				ps = append(ps, Problem{fmt.Sprintf("add-on %s is not in allowed_extensions, so Firefox reports \"No such native application\"", id), reinstall})
			}
		}
	}
	return ps
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// isAbs reports whether p is absolute on Unix (/...) or Windows (C:\..., \\server\...),
// whatever the OS this runs on, so that manifests for any OS can be checked anywhere.
func isAbs(p string) bool {
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
}
