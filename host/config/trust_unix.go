// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// checkPath applies the ownership rule of trust.go to one path by its owner
// and mode bits.
func checkPath(path string, leaf bool, o checkOptions) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("cannot read the owner")
	}
	uid := uint32(os.Getuid())
	if !o.trustUser {
		uid = 0
	}
	return unixProblem(fi.Mode(), st.Uid, st.Gid, leaf, o, uid), nil
}

// adminGroup is a group whose members are administrators: wheel (0), and
// admin (80) on macOS.
func adminGroup(gid uint32) bool {
	return gid == 0 || (runtime.GOOS == "darwin" && gid == 80)
}

// unixProblem is the rule for one path with the given mode, owner and
// group; user is the other uid accepted as an owner besides root.
func unixProblem(mode fs.FileMode, uid, gid uint32, leaf bool, o checkOptions, user uint32) string {
	if uid != 0 && uid != user {
		return fmt.Sprintf("is owned by uid %d, not by root: make root its owner (chown root)", uid)
	}
	perm := mode.Perm()
	sticky := mode.IsDir() && mode&fs.ModeSticky != 0 && !leaf
	if perm&0o002 != 0 && !sticky {
		return fmt.Sprintf("can be written by every user (mode %04o): chmod o-w", perm)
	}
	if perm&0o020 != 0 && !sticky && !adminGroup(gid) {
		return fmt.Sprintf("can be written by the members of group %d (mode %04o): chmod g-w", gid, perm)
	}
	if leaf && o.private && perm&0o077 != 0 {
		return fmt.Sprintf("can be read or written by other users (mode %04o): chmod 600", perm)
	}
	return ""
}
