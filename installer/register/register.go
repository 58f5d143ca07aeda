// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package register registers oia-host with the browsers: it writes the host
// manifest where each browser looks for it (and, on Windows, the registry
// key that points at it), reports what is registered, and removes only what
// OIA wrote.
//
// Where each browser looks is one table, [Locations]; [Targets] resolves it
// for one machine, user and scope. [Install], [Uninstall] and [Inspect] act
// on the targets and report one [Result] per target, so that running them
// twice is safe: the second install reports "already registered".
//
// All paths go through [Options]: a fake home and root let tests and
// `oia install --root` exercise system-wide registration without root.
package register

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/openidentityagent/oia/manifests"
)

// Scope says whether a registration is for one user or the whole machine.
type Scope int

const (
	// User registers for the current user (home directory, HKCU).
	User Scope = iota
	// System registers for every user (/etc, /Library, HKLM); it needs
	// administrator rights.
	System
)

// String returns "user" or "system".
func (s Scope) String() string {
	if s == System {
		return "system"
	}
	return "user"
}

// Options say for whom, where and what to register. The zero value of each
// field means the real machine: this OS, $HOME, /, all browsers.
type Options struct {
	// OS is a GOOS value; empty means runtime.GOOS. Tests set it to check
	// the tables of other systems.
	OS string
	// Scope is User or System.
	Scope Scope
	// Browsers restricts the work to these short names; empty means all.
	Browsers []string
	// HostPath is the absolute path of oia-host written into the manifests.
	HostPath string
	// ExtensionIDs are the extension ids allowed to start the host.
	ExtensionIDs []string
	// ChromiumUserDataDir, when set, replaces the per-user directory of
	// every Chromium-family browser with <dir>/NativeMessagingHosts: a
	// browser started with --user-data-dir reads only that one.
	ChromiumUserDataDir string
	// Home is the user's home directory; empty means $HOME.
	Home string
	// Root is prefixed to every absolute path (system directories and
	// browser detection); empty means /.
	Root string
	// Getenv reads environment variables (XDG_CONFIG_HOME, %LOCALAPPDATA%);
	// nil means os.Getenv.
	Getenv func(string) string
	// Registry is the Windows registry; nil means the real one on Windows
	// and none elsewhere.
	Registry Registry
	// DryRun reports what would change and changes nothing.
	DryRun bool
	// Force registers browsers that do not look installed.
	Force bool
}

// Target is one place where one browser reads the host manifest.
type Target struct {
	// Browser is the short name, or several joined by ", " when browsers
	// share the directory (--chromium-user-data-dir).
	Browser string
	Title   string
	Family  manifests.Family
	Scope   Scope
	// File is the manifest's path on this machine (under Root).
	File string
	// BrowserPath is the manifest's path as the browser sees it (without
	// Root): the registry value on Windows.
	BrowserPath string
	// RegistryKey is the full key (with the host name) on Windows, or "".
	RegistryKey string
	// Primary is false for extra directories written only where their
	// parent exists.
	Primary bool
	// Installed is true when the browser looks installed (or detection was
	// skipped by Force or ChromiumUserDataDir).
	Installed bool
	// Sandboxes lists "snap" or "flatpak" when such an installation of the
	// browser was found: it cannot start oia-host directly.
	Sandboxes []string
	// Policies are the browser's managed-policy locations (see
	// [Location].Policies), resolved for this machine.
	Policies []string
	// UserDataDir is, for a per-user Chromium-family target, the browser's
	// user-data dir (where profiles and their extensions live).
	UserDataDir string
}

// Registry is the part of the Windows registry that registration uses: the
// default value of a key under HKCU (system false) or HKLM (system true), in
// the 64-bit view.
type Registry interface {
	// Get returns the key's default value; ok is false when the key is
	// missing.
	Get(system bool, key string) (value string, ok bool, err error)
	// Set creates the key and sets its default value.
	Set(system bool, key, value string) error
	// Delete removes the key (which has no subkeys).
	Delete(system bool, key string) error
}

// resolver expands the table's path prefixes for one machine.
type resolver struct {
	o       Options
	goos    string
	home    string
	hostDir string
}

func newResolver(o Options) (*resolver, error) {
	r := &resolver{o: o, goos: o.OS, home: o.Home}
	if r.goos == "" {
		r.goos = runtime.GOOS
	}
	if r.o.Getenv == nil {
		r.o.Getenv = os.Getenv
	}
	if r.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("cannot find the home directory (%v); pass --home", err)
		}
		r.home = h
	}
	if o.HostPath != "" {
		r.hostDir = dirOf(o.HostPath)
	}
	return r, nil
}

// dirOf is filepath.Dir for both / and \ separators.
func dirOf(p string) string {
	i := strings.LastIndexAny(p, `/\`)
	if i <= 0 {
		return p
	}
	return p[:i]
}

// expand turns a table path into (path on this machine, path the browser
// sees). ok is false when a variable it needs is unset.
func (r *resolver) expand(p string) (local, browser string, ok bool) {
	switch {
	case strings.HasPrefix(p, "~/"):
		b := filepath.Join(r.home, filepath.FromSlash(p[2:]))
		return b, b, true
	case strings.HasPrefix(p, "{config}/"):
		base := filepath.Join(r.home, ".config")
		if x := r.o.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) && r.o.Home == "" {
			base = x
		}
		b := filepath.Join(base, filepath.FromSlash(strings.TrimPrefix(p, "{config}/")))
		return b, b, true
	case strings.HasPrefix(p, "{hostdir}/"):
		if r.hostDir == "" {
			return "", "", false
		}
		b := filepath.Join(r.hostDir, filepath.FromSlash(strings.TrimPrefix(p, "{hostdir}/")))
		return b, b, true
	case strings.HasPrefix(p, "%"):
		end := strings.Index(p[1:], "%")
		if end < 0 {
			return "", "", false
		}
		v := r.o.Getenv(p[1 : end+1])
		if v == "" {
			return "", "", false
		}
		b := filepath.Join(v, filepath.FromSlash(strings.TrimPrefix(p[end+2:], "/")))
		return r.rooted(b), b, true
	default:
		b := filepath.FromSlash(p)
		return r.rooted(b), b, true
	}
}

// rooted puts an absolute path under Root.
func (r *resolver) rooted(p string) string {
	if r.o.Root == "" {
		return p
	}
	// A Windows drive ("C:") becomes a folder under the root.
	return filepath.Join(r.o.Root, strings.Replace(p, ":", "", 1))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Targets resolves the table for o: one target per browser, scope and
// directory, in table order. scopes defaults to o.Scope.
func Targets(o Options, scopes ...Scope) ([]Target, error) {
	r, err := newResolver(o)
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []Scope{o.Scope}
	}
	for _, b := range o.Browsers {
		if !slices.Contains(Browsers(), b) {
			return nil, fmt.Errorf("unknown browser %q; use one of %s", b, strings.Join(Browsers(), ", "))
		}
	}
	udd := o.ChromiumUserDataDir
	if udd != "" {
		if o.Scope == System {
			return nil, errors.New("--chromium-user-data-dir names a per-user directory; drop --system")
		}
		abs, err := filepath.Abs(udd)
		if err != nil {
			return nil, err
		}
		udd = abs
	}
	var ts []Target
	index := map[string]int{} // File -> index in ts, to merge shared dirs
	for _, l := range Locations {
		if l.OS != r.goos || (len(o.Browsers) > 0 && !slices.Contains(o.Browsers, l.Browser)) {
			continue
		}
		installed, sandboxes := r.detect(l)
		var policies []string
		for _, p := range l.Policies {
			if r.goos == "windows" {
				policies = append(policies, p)
			} else if local, _, ok := r.expand(p); ok {
				policies = append(policies, local)
			}
		}
		for _, s := range scopes {
			dirs := l.UserDirs
			if s == System {
				dirs = l.SystemDirs
			}
			override := false
			if udd != "" && l.Family == manifests.Chromium && s == User {
				dirs, override = []string{filepath.ToSlash(filepath.Join(udd, "NativeMessagingHosts"))}, true
			}
			for i, d := range dirs {
				local, browser, ok := r.expand(d)
				if !ok {
					continue
				}
				if override {
					local, browser = filepath.FromSlash(d), filepath.FromSlash(d)
				}
				t := Target{
					Browser: l.Browser, Title: l.Title, Family: l.Family, Scope: s,
					File:        filepath.Join(local, manifests.FileName),
					BrowserPath: filepath.Join(browser, manifests.FileName),
					Primary:     i == 0,
					Installed:   installed || override || o.Force,
					Sandboxes:   sandboxes,
					Policies:    policies,
				}
				if l.Family == manifests.Chromium && s == User && r.goos != "windows" {
					t.UserDataDir = filepath.Dir(local)
				}
				if l.RegistryKey != "" {
					t.RegistryKey = l.RegistryKey + `\` + manifests.HostName
				}
				if j, dup := index[t.File]; dup {
					ts[j].Browser += ", " + t.Browser
					ts[j].Title += ", " + t.Title
					continue
				}
				index[t.File] = len(ts)
				ts = append(ts, t)
			}
		}
	}
	return ts, nil
}

// detect reports whether a browser of row l is installed, and in which
// sandboxes.
func (r *resolver) detect(l Location) (installed bool, sandboxes []string) {
	for _, p := range l.Detect {
		local, _, ok := r.expand(p.Path)
		if !ok || !exists(local) {
			continue
		}
		installed = true
		if p.Sandbox != "" && !slices.Contains(sandboxes, p.Sandbox) {
			sandboxes = append(sandboxes, p.Sandbox)
		}
	}
	return installed, sandboxes
}

// Status is what happened, or would happen in a dry run, to one target.
type Status string

// The statuses that Install, Uninstall and Inspect report.
const (
	Registered          Status = "registered"
	AlreadyRegistered   Status = "already registered"
	Updated             Status = "updated"
	SkippedNotInstalled Status = "skipped: not installed"
	SkippedNoID         Status = "skipped: no extension id for this browser"
	Removed             Status = "removed"
	NotRegistered       Status = "not registered"
	KeptForeign         Status = "kept: not written by OIA"
	Broken              Status = "broken"
	Failed              Status = "failed"
)

// DryRunText is what a dry run prints for a status that would change
// something.
func (s Status) DryRunText() string {
	switch s {
	case Registered:
		return "would register"
	case Updated:
		return "would update"
	case Removed:
		return "would remove"
	}
	return string(s)
}

// Result is the outcome for one target.
type Result struct {
	Target
	Status Status
	// Err is set when Status is Failed or Broken.
	Err error
}

// KeyValue reads, on Windows, the registry value of t.RegistryKey: the
// manifest path the browser will read. ok is false when the key is missing
// or t has no key.
func KeyValue(o Options, t Target) (value string, ok bool, err error) {
	reg := o.registry()
	if t.RegistryKey == "" || reg == nil {
		return "", false, nil
	}
	return reg.Get(t.Scope == System, t.RegistryKey)
}

func (o Options) registry() Registry {
	if o.Registry != nil {
		return o.Registry
	}
	return defaultRegistry()
}

// Install writes the host manifest for every target of o and reports, per
// target, "registered", "updated", "already registered" or why it skipped
// it. An error stops nothing: each failing target reports Failed, and
// Install returns an error joining them.
func Install(o Options) ([]Result, error) {
	if o.HostPath == "" {
		return nil, errors.New("no host path; pass --host /absolute/path/to/oia-host")
	}
	ts, err := Targets(o)
	if err != nil {
		return nil, err
	}
	reg := o.registry()
	var res []Result
	var errs []error
	for _, t := range ts {
		r := Result{Target: t}
		switch {
		case !t.Primary && !exists(filepath.Dir(filepath.Dir(t.File))):
			continue // an optional directory whose parent does not exist here
		case !t.Installed:
			r.Status = SkippedNotInstalled
		default:
			r.Status, r.Err = install(t, o, reg)
		}
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", t.Browser, t.File, r.Err))
		}
		res = append(res, r)
	}
	return res, errors.Join(errs...)
}

func install(t Target, o Options, reg Registry) (Status, error) {
	want, err := manifests.Render(t.Family, manifests.Data{Path: o.HostPath, ExtensionIDs: o.ExtensionIDs})
	if err != nil {
		if _, _, serr := manifests.SplitIDs(o.ExtensionIDs); serr == nil {
			return SkippedNoID, nil
		}
		return Failed, err
	}
	status := Registered
	have, err := os.ReadFile(t.File)
	switch {
	case err == nil && bytes.Equal(have, want):
		status = AlreadyRegistered
	case err == nil:
		status = Updated
	case !errors.Is(err, fs.ErrNotExist):
		return Failed, err
	}
	if t.RegistryKey != "" {
		if reg == nil {
			return Failed, errors.New("no registry on this system")
		}
		v, ok, err := reg.Get(t.Scope == System, t.RegistryKey)
		if err != nil {
			return Failed, err
		}
		if (!ok || v != t.BrowserPath) && status == AlreadyRegistered {
			status = Updated
		}
	}
	if o.DryRun || status == AlreadyRegistered {
		return status, nil
	}
	if status != AlreadyRegistered {
		if err := WriteFileAtomic(t.File, want); err != nil {
			return Failed, err
		}
	}
	if t.RegistryKey != "" {
		if err := reg.Set(t.Scope == System, t.RegistryKey, t.BrowserPath); err != nil {
			return Failed, err
		}
	}
	return status, nil
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename, so a reader never sees half a file (a browser, a manifest; the
// host, a configuration). The file is 0644 and new directories 0755:
// browsers of every user must read them.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s (%v); for --system run as root or administrator", dir, err)
	}
	f, err := os.CreateTemp(dir, ".oia-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write in %s (%v); for --system run as root or administrator", dir, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Uninstall removes, for every target of o, the manifest and registry key
// that OIA wrote: a manifest is removed only when it has our host name and
// points at an oia-host executable; anything else is kept and reported.
// Browser detection does not matter: a registration is removed wherever it
// is found.
func Uninstall(o Options) ([]Result, error) {
	ts, err := Targets(o)
	if err != nil {
		return nil, err
	}
	reg := o.registry()
	var res []Result
	var errs []error
	for _, t := range ts {
		r := Result{Target: t}
		r.Status, r.Err = uninstall(t, o, reg)
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", t.Browser, t.File, r.Err))
		}
		if !t.Primary && r.Status == NotRegistered {
			continue
		}
		res = append(res, r)
	}
	return res, errors.Join(errs...)
}

func uninstall(t Target, o Options, reg Registry) (Status, error) {
	status := NotRegistered
	b, err := readBounded(t.File)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Failed, err
	default:
		m, perr := manifests.Parse(b)
		if perr != nil || !m.IsOurs() {
			return KeptForeign, nil
		}
		status = Removed
		if !o.DryRun {
			if err := os.Remove(t.File); err != nil {
				return Failed, fmt.Errorf("cannot remove (%v); for --system run as root or administrator", err)
			}
		}
	}
	if t.RegistryKey != "" && reg != nil {
		v, ok, err := reg.Get(t.Scope == System, t.RegistryKey)
		if err != nil {
			return Failed, err
		}
		// Remove the key only when it points at our manifest file.
		if ok && strings.EqualFold(v, t.BrowserPath) {
			status = Removed
			if !o.DryRun {
				if err := reg.Delete(t.Scope == System, t.RegistryKey); err != nil {
					return Failed, err
				}
			}
		}
	}
	return status, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, manifests.MaxManifestSize+1))
}

// Inspect reports, for every target of o in both scopes, whether OIA's host
// is registered there: Registered, NotRegistered, KeptForeign (a manifest
// with our name that OIA did not write) or Broken (with Err saying why).
func Inspect(o Options) ([]Result, error) {
	ts, err := Targets(o, User, System)
	if err != nil {
		return nil, err
	}
	reg := o.registry()
	var res []Result
	for _, t := range ts {
		r := Result{Target: t, Status: NotRegistered}
		b, err := readBounded(t.File)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !t.Primary {
				continue
			}
		case err != nil:
			r.Status, r.Err = Broken, err
		default:
			m, perr := manifests.Parse(b)
			switch {
			case perr != nil:
				r.Status, r.Err = Broken, perr
			case !m.IsOurs():
				r.Status = KeptForeign
			default:
				r.Status = Registered
			}
		}
		if t.RegistryKey != "" && reg != nil && r.Status == Registered {
			v, ok, err := reg.Get(t.Scope == System, t.RegistryKey)
			if err != nil || !ok || !strings.EqualFold(v, t.BrowserPath) {
				r.Status, r.Err = Broken, fmt.Errorf("registry key %s does not point at the manifest; run 'oia install'", t.RegistryKey)
			}
		}
		res = append(res, r)
	}
	return res, nil
}
