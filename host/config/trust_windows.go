// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build windows

package config

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// checkPath applies the ownership rule of trust.go to one path by its owner
// and access list, read with GetNamedSecurityInfo.
func checkPath(path string, leaf bool, o checkOptions) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	si, err := readSecurity(path)
	if err != nil {
		return "", err
	}
	user := ""
	if o.trustUser {
		if tu, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
			user = tu.User.Sid.String()
		}
	}
	return aclProblem(si, fi.IsDir(), leaf, o, user), nil
}

// readSecurity returns path's owner and access list.
func readSecurity(path string) (securityInfo, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return securityInfo{}, err
	}
	var si securityInfo
	owner, _, err := sd.Owner()
	if err != nil {
		return si, err
	}
	si.owner = owner.String()
	dacl, _, err := sd.DACL()
	if err != nil {
		return si, err
	}
	if dacl == nil {
		si.nullDACL = true
		return si, nil
	}
	for i := range uint32(dacl.AceCount) {
		var a *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &a); err != nil {
			return si, err
		}
		e := ace{mask: uint32(a.Mask), allow: a.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE,
			inheritOnly: a.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0}
		if e.allow {
			e.sid = (*windows.SID)(unsafe.Pointer(&a.SidStart)).String()
		}
		si.aces = append(si.aces, e)
	}
	return si, nil
}
