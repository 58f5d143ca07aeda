// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/installer/register"
	"github.com/openidentityagent/oia/manifests"
)

// registerFlags are the flags of install, uninstall, status and doctor.
type registerFlags struct {
	system   bool
	browsers stringList
	host     string
	udd      string
	home     string
	root     string
	ids      stringList
	dryRun   bool
	force    bool
	json     bool
}

func newRegisterFlags(name string, stderr io.Writer, f *registerFlags, withWrite bool) *flag.FlagSet {
	fs := flag.NewFlagSet("oia "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.system, "system", false, "register for every user (/etc, /Library, HKLM); needs root or administrator")
	fs.Var(&f.browsers, "browser", "only this browser: "+strings.Join(register.Browsers(), ", ")+" (repeatable; default all)")
	fs.StringVar(&f.host, "host", "", "absolute path of oia-host (default: oia-host next to this oia)")
	fs.StringVar(&f.udd, "chromium-user-data-dir", "", "register in `DIR`/NativeMessagingHosts for Chromium-family browsers started with --user-data-dir=DIR")
	fs.StringVar(&f.home, "home", "", "the user's home `DIR` (default $HOME)")
	fs.StringVar(&f.root, "root", "", "prefix `DIR` for system paths and browser detection (for tests and image builds)")
	fs.Var(&f.ids, "extension-id", "extension `ID` allowed to start the host (repeatable; default: the configuration's allowedExtensions)")
	if withWrite {
		fs.BoolVar(&f.dryRun, "dry-run", false, "print what would change and change nothing")
	}
	if name == "install" {
		fs.BoolVar(&f.force, "force", false, "register browsers that do not look installed")
	}
	if name == "status" || name == "doctor" {
		fs.BoolVar(&f.json, "json", false, "print JSON (field names in docs/installer.md)")
	}
	return fs
}

// options turns the flags into register.Options. needHost requires an
// existing oia-host; loadIDs fills ExtensionIDs from the configuration when
// no --extension-id is given (doctor loads the configuration itself, to
// report its errors).
func (f *registerFlags) options(needHost, loadIDs bool) (register.Options, error) {
	o := register.Options{
		Browsers: f.browsers, ChromiumUserDataDir: f.udd, Home: f.home, Root: f.root,
		DryRun: f.dryRun, Force: f.force,
	}
	if f.system {
		o.Scope = register.System
	}
	if f.home != "" {
		abs, err := filepath.Abs(f.home)
		if err != nil {
			return o, err
		}
		o.Home = abs
	}
	if f.root != "" {
		abs, err := filepath.Abs(f.root)
		if err != nil {
			return o, err
		}
		o.Root = abs
	}
	o.ExtensionIDs = f.ids
	if loadIDs {
		ids, err := extensionIDs(f.ids, f.system, o.Root)
		if err != nil {
			return o, err
		}
		o.ExtensionIDs = ids
	}
	if _, _, err := manifests.SplitIDs(o.ExtensionIDs); err != nil {
		return o, err
	}
	o.HostPath = f.host
	if o.HostPath == "" {
		p, err := defaultHostPath()
		if err != nil && needHost {
			return o, err
		}
		o.HostPath = p
	}
	if o.HostPath != "" {
		abs, err := filepath.Abs(o.HostPath)
		if err != nil {
			return o, err
		}
		o.HostPath = abs
	}
	if needHost {
		if st, err := os.Stat(o.HostPath); err != nil || st.IsDir() {
			return o, fmt.Errorf("host %s does not exist; pass --host with the path of oia-host", o.HostPath)
		}
	}
	return o, nil
}

// hostExe is oia-host's file name on this OS.
func hostExe() string {
	if runtime.GOOS == "windows" {
		return manifests.HostBinary + ".exe"
	}
	return manifests.HostBinary
}

// defaultHostPath is oia-host next to the running oia (symlinks resolved,
// so /usr/bin/oia -> /usr/lib/oia/oia finds /usr/lib/oia/oia-host).
func defaultHostPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find this program's path (%v); pass --host", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	p := filepath.Join(filepath.Dir(exe), hostExe())
	if _, err := os.Stat(p); err != nil {
		return p, fmt.Errorf("no %s next to oia in %s; pass --host with its path", hostExe(), filepath.Dir(exe))
	}
	return p, nil
}

func runInstall(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runRegister(ctx, "install", args, stdout, stderr, register.Install)
}

func runUninstall(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runRegister(ctx, "uninstall", args, stdout, stderr, register.Uninstall)
}

func runRegister(_ context.Context, name string, args []string, stdout, stderr io.Writer, do func(register.Options) ([]register.Result, error)) int {
	var f registerFlags
	fs := newRegisterFlags(name, stderr, &f, true)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oia %s: unexpected argument %q\n", name, fs.Arg(0))
		return exitUsage
	}
	o, err := f.options(name == "install", true)
	if err != nil {
		fmt.Fprintf(stderr, "oia %s: %v\n", name, err)
		return exitUsage
	}
	if name == "install" && f.system {
		if err := prepareSystem(o, stdout); err != nil {
			fmt.Fprintf(stderr, "oia %s: %v\n", name, err)
			return exitFailed
		}
	}
	res, err := do(o)
	if res == nil && err != nil {
		fmt.Fprintf(stderr, "oia %s: %v\n", name, err)
		return exitUsage
	}
	if f.dryRun {
		fmt.Fprintln(stdout, "dry run: nothing is changed")
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, r := range res {
		status := string(r.Status)
		if f.dryRun {
			status = r.Status.DryRunText()
		}
		if r.Err != nil {
			status += ": " + r.Err.Error()
		}
		where := r.File
		if r.RegistryKey != "" {
			where += " (" + hiveName(r.Scope) + `\` + r.RegistryKey + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Browser, r.Scope, status, where)
	}
	w.Flush()
	if len(res) == 0 {
		fmt.Fprintf(stderr, "oia %s: no browser location for this system\n", name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "oia %s: %v\n", name, err)
		return exitFailed
	}
	return exitOK
}

// prepareSystem is what a system-wide install checks and makes before it
// registers: every user's browser will start the host, so no one but an
// administrator may be able to change it; and the system configuration's
// folder exists, administrators-only, so that no user can plant a file the
// host would trust (docs/security.md). A --root (a staging tree the user
// built) accepts the current user as owner.
func prepareSystem(o register.Options, stdout io.Writer) error {
	problem, err := config.AdminOnly(o.HostPath, o.Root != "" && !config.Release())
	if err != nil {
		return err
	}
	if problem != "" {
		return fmt.Errorf("refusing to register %s for every user: %s; install oia-host where only administrators can write (the packages use %s)", o.HostPath, problem, hostInstallHint())
	}
	dir := filepath.Dir(config.SystemPath())
	if o.Root != "" {
		dir = filepath.Join(o.Root, dir)
	}
	if o.DryRun {
		fmt.Fprintf(stdout, "would make %s writable by administrators only\n", dir)
		return nil
	}
	if err := secureConfigDir(dir); err != nil {
		return fmt.Errorf("make %s writable by administrators only: %w", dir, err)
	}
	return nil
}

// hostInstallHint names where the packages put oia-host.
func hostInstallHint() string {
	switch runtime.GOOS {
	case "windows":
		return `C:\Program Files\OIA`
	case "darwin":
		return "/Library/OIA"
	}
	return "/usr/bin"
}

func hiveName(s register.Scope) string {
	if s == register.System {
		return "HKLM"
	}
	return "HKCU"
}

// statusEntry is one line of 'oia status --json'.
type statusEntry struct {
	Browser     string   `json:"browser"`
	Scope       string   `json:"scope"`
	Installed   bool     `json:"installed"`
	Sandboxes   []string `json:"sandboxes,omitempty"`
	Status      string   `json:"status"`
	Error       string   `json:"error,omitempty"`
	Manifest    string   `json:"manifest"`
	RegistryKey string   `json:"registryKey,omitempty"`
}

func runStatus(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var f registerFlags
	fs := newRegisterFlags("status", stderr, &f, false)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	o, err := f.options(false, true)
	if err != nil {
		fmt.Fprintf(stderr, "oia status: %v\n", err)
		return exitUsage
	}
	res, err := register.Inspect(o)
	if err != nil {
		fmt.Fprintf(stderr, "oia status: %v\n", err)
		return exitUsage
	}
	entries := make([]statusEntry, 0, len(res))
	for _, r := range res {
		e := statusEntry{Browser: r.Browser, Scope: r.Scope.String(), Installed: r.Installed,
			Sandboxes: r.Sandboxes, Status: string(r.Status), Manifest: r.File, RegistryKey: r.RegistryKey}
		if r.Err != nil {
			e.Error = r.Err.Error()
		}
		entries = append(entries, e)
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return exitFailed
		}
		return exitOK
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "BROWSER\tSCOPE\tINSTALLED\tSTATUS\tMANIFEST")
	for _, e := range entries {
		inst := "no"
		if e.Installed {
			inst = "yes"
			if len(e.Sandboxes) > 0 {
				inst += " (" + strings.Join(e.Sandboxes, ", ") + ")"
			}
		}
		st := e.Status
		if e.Error != "" {
			st += ": " + e.Error
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.Browser, e.Scope, inst, st, e.Manifest)
	}
	w.Flush()
	writeAgentStatus(ctx, stdout)
	return exitOK
}
