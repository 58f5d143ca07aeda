// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Path returns the file on this machine behind the Windows path win: C:
// is the prefix's drive_c and Z: is /. Other drives are an error. Wine
// matches names without regard to case; Path keeps the case given, so
// spell the folders as Wine made them (C:\users, C:\windows\system32).
func (p *Prefix) Path(win string) (string, error) {
	if len(win) < 2 || win[1] != ':' {
		return "", fmt.Errorf("wine: %q is not an absolute Windows path", win)
	}
	rest := strings.TrimLeft(strings.ReplaceAll(win[2:], `\`, "/"), "/")
	switch strings.ToUpper(win[:1]) {
	case "C":
		return filepath.Join(p.Dir, "drive_c", filepath.FromSlash(rest)), nil
	case "Z":
		return "/" + filepath.FromSlash(rest), nil
	}
	return "", fmt.Errorf("wine: drive %s is not mapped in the prefix (only C: and Z:)", win[:2])
}

// MustPath is [Prefix.Path] for paths known to be on C: or Z:; it panics
// otherwise.
func (p *Prefix) MustPath(win string) string {
	s, err := p.Path(win)
	if err != nil {
		panic(err)
	}
	return s
}

// WinPath returns the Windows path under which the prefix's programs see
// the absolute path unix: C:\... inside drive_c, else Z:\....
func (p *Prefix) WinPath(unix string) string {
	unix = filepath.Clean(unix)
	c := filepath.Join(p.Dir, "drive_c")
	if rel, err := filepath.Rel(c, unix); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		if rel == "." {
			return `C:\`
		}
		return `C:\` + strings.ReplaceAll(rel, "/", `\`)
	}
	return `Z:` + strings.ReplaceAll(unix, "/", `\`)
}

// Profile returns the user's profile folder, C:\users\<User>.
func (p *Prefix) Profile() string { return `C:\users\` + p.User }

// LocalAppData returns %LOCALAPPDATA% (C:\users\<User>\AppData\Local).
func (p *Prefix) LocalAppData() string { return p.Profile() + `\AppData\Local` }

// AppData returns %APPDATA% (C:\users\<User>\AppData\Roaming).
func (p *Prefix) AppData() string { return p.Profile() + `\AppData\Roaming` }

// ProgramData returns %ProgramData% (C:\ProgramData).
func (p *Prefix) ProgramData() string { return `C:\ProgramData` }
