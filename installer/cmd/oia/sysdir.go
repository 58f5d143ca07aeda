// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openidentityagent/oia/host/config"
)

// sysPath is what checkSystemTarget needs to know of one path, read
// without following it (osFS.stat).
type sysPath struct {
	exists bool
	// link is a symbolic link, a junction or another reparse point: it
	// may lead anywhere, so nothing written as SYSTEM or root may go
	// through it.
	link bool
	dir  bool
	// regular is a plain file.
	regular bool
}

// sysFS is what checkSystemTarget reads: osFS on the machine, a fake in
// tests (a junction cannot be made everywhere the tests run).
type sysFS interface {
	// stat reads path without following it.
	stat(path string) (sysPath, error)
	// adminOnly says why someone other than an administrator could change
	// path, or "" when nobody can: host/config's rule for its system file.
	adminOnly(path string) (string, error)
}

// osFS is the machine's file system.
type osFS struct{}

// stat reads path with os.Lstat: a symbolic link, an irregular file (a
// device, a socket; Go may report a junction so) or a path the OS marks
// as a reparse point (reparsePoint, per OS) is reported as a link, never
// followed.
func (osFS) stat(path string) (sysPath, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sysPath{}, nil
	}
	if err != nil {
		return sysPath{}, err
	}
	m := fi.Mode()
	p := sysPath{exists: true, link: m&(fs.ModeSymlink|fs.ModeIrregular) != 0, dir: m.IsDir(), regular: m.IsRegular()}
	if !p.link {
		if p.link, err = reparsePoint(path); err != nil {
			return sysPath{}, err
		}
	}
	return p, nil
}

// adminOnly applies config.AdminOnly, the rule the host applies when it
// reads the system file. It also accepts the account running oia
// configure as an owner: SYSTEM when the MSI runs it and root on Unix,
// whom the rule trusts anyway; an administrator who runs it elevated by
// hand (whose unelevated programs could have made the folder: Windows
// does not count UAC as a security boundary); Wine's one user, which owns
// every file there; and the user who owns a test's --root.
func (osFS) adminOnly(path string) (string, error) { return config.AdminOnly(path, true) }

// checkSystemTarget refuses to write, merge or remove the system
// configuration file at path when its folder or the file could lead
// elsewhere or was made by someone other than an administrator. A user may
// create folders in C:\ProgramData before OIA is installed: a junction
// there would point what runs as SYSTEM at any folder, and a folder or
// config.json the user made would have its keys merged into a file the
// host then trusts.
func checkSystemTarget(f sysFS, path string) error {
	dir := filepath.Dir(path)
	d, err := f.stat(dir)
	if err != nil {
		return err
	}
	switch {
	case d.link:
		return fmt.Errorf("%s is a link (a junction or symbolic link) and may lead anywhere: an administrator deletes it (not what it points to), then run again; nothing was written", dir)
	case !d.exists:
		return nil
	case !d.dir:
		return fmt.Errorf("%s is not a folder: an administrator deletes it, then run again; nothing was written", dir)
	}
	if problem, err := f.adminOnly(dir); err != nil {
		return err
	} else if problem != "" {
		return fmt.Errorf("%s was not made by an administrator (%s), so what is in it is not trusted: an administrator deletes the folder, then run again; nothing was written", dir, problem)
	}
	fi, err := f.stat(path)
	if err != nil {
		return err
	}
	switch {
	case fi.link:
		return fmt.Errorf("%s is a link (a junction or symbolic link) and may lead anywhere: an administrator deletes it, then run again; nothing was written", path)
	case !fi.exists:
		return nil
	case !fi.regular:
		return fmt.Errorf("%s is not a plain file: an administrator deletes it, then run again; nothing was written", path)
	}
	if problem, err := f.adminOnly(path); err != nil {
		return err
	} else if problem != "" {
		return fmt.Errorf("%s could be changed by someone other than an administrator (%s), so its keys are not kept: an administrator deletes it or fixes its permissions, then run again; nothing was written", path, problem)
	}
	return nil
}
