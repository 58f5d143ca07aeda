// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// msiArgs returns the argument lists of the MSI's oia.exe custom actions,
// read from installer/msi/oia.wxs (the template the package is built from,
// so these tests and the package cannot drift apart), with the properties
// replaced by props and the extension ids by ids, split as Windows splits
// a command line (CommandLineToArgvW's rules for quotes and backslashes),
// and the template's command line of each.
func msiArgs(t *testing.T, ids string, props map[string]string) (map[string][]string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile("../../msi/oia.wxs")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`CustomAction Id="(\w+)" FileKey="oia.exe"[^>]*ExeCommand="configure ([^"]*)"`)
	out, raw := map[string][]string{}, map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		raw[m[1]] = html.UnescapeString(m[2])
		line := strings.ReplaceAll(raw[m[1]], "{{.PolicyIDs}}", ids)
		for k, v := range props {
			line = strings.ReplaceAll(line, "["+k+"]", v)
		}
		var args []string
		var cur strings.Builder
		quoted, started, slashes := false, false, 0
		for _, r := range line {
			if r == '\\' {
				slashes++
				started = true
				continue
			}
			if r == '"' {
				cur.WriteString(strings.Repeat(`\`, slashes/2))
				if slashes%2 == 1 {
					cur.WriteRune(r)
					slashes = 0
					continue
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, slashes))
			}
			slashes = 0
			switch {
			case r == '"':
				quoted, started = !quoted, true
			case r == ' ' && !quoted:
				if started {
					args = append(args, cur.String())
				}
				cur.Reset()
				started = false
			default:
				cur.WriteRune(r)
				started = true
			}
		}
		cur.WriteString(strings.Repeat(`\`, slashes))
		if started {
			args = append(args, cur.String())
		}
		out[m[1]] = args
	}
	if len(out) != 4 {
		t.Fatalf("found %d oia.exe custom actions in oia.wxs, want 4: %v", len(out), out)
	}
	return out, raw
}

// TestCheckMSIArgs runs the MSI's own command lines, with ordinary and
// with hostile property values, through --from-msi's check.
func TestCheckMSIArgs(t *testing.T) {
	const ids = "jojkkadnmnpkbklmagcdhigmbdlcaoha,identity-agent@openidentityagent.org"
	tests := []struct {
		env, origins string
		hostile      string // the property whose value must be refused, if any
		reason       string
	}{
		{"int", "https://*.example.nhs.uk,https://portal.nhs.uk:8443", "", "ordinary values: the MSI's command lines are accepted"},
		{"", "", "", "empty properties (an upgrade without them) are accepted"},
		{`int" --remove "`, "", "BROKER_ENV", "a quote in BROKER_ENV closes the value and adds --remove"},
		{"", `https://a.example" --root="C:\Users\Public`, "ALLOWED_ORIGINS", "a quote in ALLOWED_ORIGINS adds --root"},
		{"", `https://a.example" "--allowed-origins=https://b.example`, "ALLOWED_ORIGINS", "a quote in ALLOWED_ORIGINS repeats --allowed-origins"},
		{`int\" --x`, "", "BROKER_ENV", "a backslash-escaped quote leaves a quote in the value"},
		{"", "https://a.example\n--remove", "ALLOWED_ORIGINS", "a line break in a value"},
	}
	for _, tt := range tests {
		args, raw := msiArgs(t, ids, map[string]string{"BROKER_ENV": tt.env, "ALLOWED_ORIGINS": tt.origins})
		for action, a := range args {
			if a[0] != "--from-msi" {
				t.Errorf("%s: the command line does not start with --from-msi: %q", action, a)
				continue
			}
			err := checkMSIArgs(a[1:])
			refuse := tt.hostile != "" && strings.Contains(raw[action], "["+tt.hostile+"]")
			if (err != nil) != refuse {
				t.Errorf("%s: %s: checkMSIArgs(%q) = %v, want refused %v", action, tt.reason, a[1:], err, refuse)
			}
		}
	}
}

// fakeFS is a sysFS of listed paths: a junction or a folder a user made
// can be described where the tests cannot make one.
type fakeFS struct {
	paths    map[string]sysPath
	problems map[string]string
}

func (f fakeFS) stat(p string) (sysPath, error)     { return f.paths[p], nil }
func (f fakeFS) adminOnly(p string) (string, error) { return f.problems[p], nil }

// TestCheckSystemTarget checks what oia configure refuses to write, merge
// or remove through.
func TestCheckSystemTarget(t *testing.T) {
	dir := filepath.Join("ProgramData", "OIA")
	file := filepath.Join(dir, "config.json")
	folder := sysPath{exists: true, dir: true}
	plain := sysPath{exists: true, regular: true}
	link := sysPath{exists: true, link: true}
	tests := []struct {
		paths    map[string]sysPath
		problems map[string]string
		want     string // a part of the error, "" for none
		reason   string
	}{
		{nil, nil, "", "a first installation: no folder yet, so it is created"},
		{map[string]sysPath{dir: folder}, nil, "", "an administrator's folder without a file"},
		{map[string]sysPath{dir: folder, file: plain}, nil, "", "an administrator's folder and file: its keys are kept"},
		{map[string]sysPath{dir: link}, nil, "is a link", "a junction a user planted at the folder would point SYSTEM at any folder"},
		{map[string]sysPath{dir: {exists: true, dir: true, link: true}}, nil, "is a link", "a directory symbolic link is a link too"},
		{map[string]sysPath{dir: plain}, nil, "is not a folder", "a file where the folder goes"},
		{map[string]sysPath{dir: folder}, map[string]string{dir: "is owned by S-1-5-21-1-2-3-1001"}, "an administrator deletes the folder", "a folder a user made before installation is not adopted"},
		{map[string]sysPath{dir: folder, file: link}, nil, "is a link", "a symbolic link at config.json"},
		{map[string]sysPath{dir: folder, file: {exists: true}}, nil, "is not a plain file", "a device or socket at config.json"},
		{map[string]sysPath{dir: folder, file: plain}, map[string]string{file: "can be written by every user"}, "its keys are not kept", "a config.json others may write is not merged (its keys would be laundered into the administrators' file)"},
	}
	for _, tt := range tests {
		err := checkSystemTarget(fakeFS{tt.paths, tt.problems}, file)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.reason, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.reason, err, tt.want)
		case err != nil && !strings.Contains(err.Error(), "nothing was written"):
			t.Errorf("%s: %v does not say that nothing was written", tt.reason, err)
		}
	}
}
