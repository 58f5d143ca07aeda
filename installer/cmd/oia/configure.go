// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/installer/policy"
	"github.com/openidentityagent/oia/installer/register"
)

// runConfigure writes keys into the system configuration file: what the
// MSI runs, as SYSTEM, with its public properties (installer/msi). It
// makes the folder administrators-only as `oia install --system` does,
// keeps the keys it is not given, and refuses a value the host would
// refuse, so a typing mistake in a deployment fails the installation
// rather than every login. An empty value leaves its key as it is.
// --remove deletes the file (and the folder when nothing else is in it):
// what a full uninstall runs. Both refuse, writing and removing nothing,
// when the folder or the file is a link or was not made by an
// administrator (checkSystemTarget).
//
// With --policy IDS it acts on those extensions' managed settings in the
// machine's browser policy (Windows: the per-extension 3rdparty keys of
// Chrome, Edge and Firefox, laid out by installer/policy as `oia policy
// windows` writes them) instead of the file: --allowed-origins sets
// allowedOrigins there, --remove deletes the extensions' keys. That is
// what the MSI's Policy feature runs.
//
// With --from-msi as its first argument it accepts only the command lines
// the MSI's custom actions run (msiCommands), see checkMSIArgs.
func runConfigure(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--from-msi" {
		if err := checkMSIArgs(args[1:]); err != nil {
			fmt.Fprintf(stderr, "oia configure --from-msi: %v; nothing was written\n", err)
			return exitUsage
		}
		args = args[1:]
	}
	fs := flag.NewFlagSet("oia configure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := fs.String("broker-environment", "", "set brokerEnvironment: live, int, dep, training or dev")
	origins := fs.String("allowed-origins", "", "set allowedOrigins: comma-separated `PATTERNS` such as https://*.example.nhs.uk")
	remove := fs.Bool("remove", false, "delete the system configuration file (a full uninstall)")
	ids := fs.String("policy", "", "act on the managed settings of the extensions `IDS` (comma-separated) in the machine's browser policy instead of the file (Windows)")
	root := fs.String("root", "", "prefix `DIR` for the system configuration's path (for tests and image builds)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oia configure: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *ids != "" {
		return configurePolicy(strings.Split(*ids, ","), *env, *origins, *remove, stdout, stderr)
	}
	path := config.SystemPath()
	if *root != "" {
		path = filepath.Join(*root, path)
	}
	if err := checkSystemTarget(osFS{}, path); err != nil {
		fmt.Fprintf(stderr, "oia configure: %v\n", err)
		return exitFailed
	}
	if *remove {
		if err := removeSystemConfig(path); err != nil {
			fmt.Fprintf(stderr, "oia configure: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "removed %s\n", path)
		return exitOK
	}
	set := map[string]any{}
	if *env != "" {
		set["brokerEnvironment"] = *env
	}
	if list := splitOrigins(*origins); len(list) > 0 {
		set["allowedOrigins"] = list
	}
	if err := makeConfigDir(filepath.Dir(path)); err != nil {
		fmt.Fprintf(stderr, "oia configure: %v\n", err)
		return exitFailed
	}
	if err := secureConfigDir(filepath.Dir(path)); err != nil {
		fmt.Fprintf(stderr, "oia configure: make %s writable by administrators only: %v; run as administrator or root\n", filepath.Dir(path), err)
		return exitFailed
	}
	if len(set) == 0 {
		fmt.Fprintf(stdout, "nothing to set; %s is unchanged\n", path)
		return exitOK
	}
	// Again, now that the folder is there: nothing planted meanwhile.
	if err := checkSystemTarget(osFS{}, path); err != nil {
		fmt.Fprintf(stderr, "oia configure: %v\n", err)
		return exitFailed
	}
	if err := mergeSystemConfig(path, set); err != nil {
		fmt.Fprintf(stderr, "oia configure: %v\n", err)
		return exitFailed
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(stdout, "wrote %s (%s)\n", path, strings.Join(keys, ", "))
	return exitOK
}

// msiCommands are the argument lists, after --from-msi, of the MSI's
// custom actions (installer/msi/oia.wxs): WriteConfig, RemoveConfig,
// WritePolicy, RemovePolicy. A flag ending in "=" takes a value.
var msiCommands = [][]string{
	{"--broker-environment=", "--allowed-origins="},
	{"--remove"},
	{"--policy=", "--allowed-origins="},
	{"--policy=", "--remove"},
}

// checkMSIArgs accepts args only if they are one of msiCommands: those
// flags, each once, in that order, nothing else, and no value holding a
// quote, a NUL or a line break. Windows Installer pastes a property into
// the custom action's command line unescaped, so a value such as
// `int" --remove "` would otherwise add flags to a command that runs as
// SYSTEM.
func checkMSIArgs(args []string) error {
	for _, form := range msiCommands {
		if len(form) != len(args) {
			continue
		}
		match := true
		for i, f := range form {
			value := strings.HasSuffix(f, "=")
			if value && !strings.HasPrefix(args[i], f) || !value && args[i] != f {
				match = false
				break
			}
		}
		if match {
			for i, f := range form {
				if v := strings.TrimPrefix(args[i], f); strings.ContainsAny(v, "\"\x00\r\n") {
					return fmt.Errorf("the value of %s holds a quote, a NUL or a line break (%q): set the MSI property without them", strings.TrimSuffix(f, "="), v)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("arguments %q are not one of the MSI's command lines; a property value may have added arguments (remove quotes from it), or run oia configure without --from-msi", args)
}

// splitOrigins splits a comma-separated list, dropping empty entries.
func splitOrigins(s string) []string {
	var list []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			list = append(list, o)
		}
	}
	return list
}

// configurePolicy is oia configure --policy: it writes allowedOrigins into
// the extensions' managed settings, or with remove deletes their keys.
func configurePolicy(ids []string, env, origins string, remove bool, stdout, stderr io.Writer) int {
	if env != "" {
		fmt.Fprintf(stderr, "oia configure: --broker-environment goes into the configuration file, not the extension's policy; run oia configure without --policy for it\n")
		return exitUsage
	}
	s := policy.Defaults()
	list := splitOrigins(origins)
	if len(list) > 0 {
		s.AllowedOrigins = list
	}
	var keys []string
	if !remove {
		if len(list) == 0 {
			fmt.Fprintf(stdout, "nothing to set; the extensions' policy is unchanged\n")
			return exitOK
		}
		keys = []string{"allowedOrigins"}
	}
	mk, err := policy.ManagedValues(s, ids, keys...)
	if err != nil {
		fmt.Fprintf(stderr, "oia configure: %v; nothing was written\n", err)
		return exitFailed
	}
	if remove {
		err = policy.RemoveManaged(mk)
	} else {
		err = policy.SetManaged(mk)
	}
	if err != nil {
		fmt.Fprintf(stderr, "oia configure: %v\n", err)
		return exitFailed
	}
	for _, m := range mk {
		if remove {
			fmt.Fprintf(stdout, "removed HKLM\\%s\n", m.Key)
		} else {
			fmt.Fprintf(stdout, "wrote HKLM\\%s (allowedOrigins)\n", m.Key)
		}
	}
	return exitOK
}

// mergeSystemConfig sets keys in the JSON object at path, keeping the
// others, checks the result as the host would, and replaces the file
// atomically.
func mergeSystemConfig(path string, set map[string]any) error {
	obj := map[string]json.RawMessage{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
			return fmt.Errorf("%s is not a JSON object (%v); fix or delete it, then run again", path, err)
		}
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		obj[k] = b
	}
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return err
	}
	out = append(out, '\n')
	if err := config.CheckSystemFile(path, out); err != nil {
		return fmt.Errorf("%v; nothing was written", err)
	}
	return register.WriteFileAtomic(path, out)
}

// makeConfigDir creates dir when checkSystemTarget found none, with
// os.Mkdir, which fails rather than adopt a folder or junction made
// since the check.
func makeConfigDir(dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return nil // checkSystemTarget accepted it
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w; if something else made it meanwhile, an administrator deletes it, then run again; nothing was written", dir, err)
	}
	return nil
}

// removeSystemConfig deletes the file at path, then its folder if empty.
func removeSystemConfig(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		return os.Remove(dir)
	}
	return nil
}
