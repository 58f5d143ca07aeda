// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package config

import (
	"fmt"
	"slices"
)

// The Windows side of the rule in trust.go, kept free of the Windows API so
// that it is tested on every OS: trust_windows.go reads a path's owner and
// access list through the API and hands them to aclProblem.

// Well-known SIDs of the accounts that administer a Windows machine.
const (
	sidSystem          = "S-1-5-18"
	sidAdministrators  = "S-1-5-32-544"
	sidTrustedInstaler = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
)

// adminSIDs are accepted as owners and writers of a system file.
var adminSIDs = []string{sidSystem, sidAdministrators, sidTrustedInstaler}

// Access-mask bits (winnt.h) that matter to the rule.
const (
	accReadData     = 0x1        // FILE_READ_DATA, FILE_LIST_DIRECTORY
	accWriteData    = 0x2        // FILE_WRITE_DATA, FILE_ADD_FILE
	accAppendData   = 0x4        // FILE_APPEND_DATA, FILE_ADD_SUBDIRECTORY
	accWriteEA      = 0x10       // FILE_WRITE_EA
	accDeleteChild  = 0x40       // FILE_DELETE_CHILD
	accDelete       = 0x10000    // DELETE
	accWriteDAC     = 0x40000    // WRITE_DAC
	accWriteOwner   = 0x80000    // WRITE_OWNER
	accGenericAll   = 0x10000000 // GENERIC_ALL
	accGenericWrite = 0x40000000 // GENERIC_WRITE
	accGenericRead  = 0x80000000 // GENERIC_READ
)

// Rights that let their holder change a file, or a folder's existing
// entries. Adding to a folder (FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY, which
// users hold on C:\ProgramData) is not among the folder's: what is already
// in it stays its owner's.
const (
	fileWriteRights   = accWriteData | accAppendData | accWriteEA | accDelete | accWriteDAC | accWriteOwner | accGenericAll | accGenericWrite
	folderWriteRights = accDeleteChild | accDelete | accWriteDAC | accWriteOwner | accGenericAll
	readRights        = accReadData | accGenericRead | accGenericAll
)

// ace is one access-control entry as the Windows API reports it.
type ace struct {
	sid         string
	mask        uint32
	allow       bool // an access-allowed entry; others (deny, audit) only narrow
	inheritOnly bool // applies to children only, not to the object itself
}

// securityInfo is a path's owner and access list.
type securityInfo struct {
	owner    string
	nullDACL bool // no access list at all: everyone has every right
	aces     []ace
}

// aclProblem is the rule of trust.go for one path with security si: dir
// says it is a folder, leaf that it is the file itself; user is the
// current user's SID, accepted as owner when o.trustUser.
//
// Deny entries are not subtracted: a grant that a deny entry cancels is
// still refused, which errs on the side of refusing.
func aclProblem(si securityInfo, dir, leaf bool, o checkOptions, user string) string {
	trusted := func(sid string) bool {
		return slices.Contains(adminSIDs, sid) || (o.trustUser && user != "" && sid == user)
	}
	if !trusted(si.owner) {
		return fmt.Sprintf("is owned by %s, not by an administrator: make Administrators its owner", si.owner)
	}
	if si.nullDACL {
		return "has no access list, so everyone may change it: give it an administrators-only ACL"
	}
	rights := uint32(fileWriteRights)
	if dir && !leaf {
		rights = folderWriteRights
	}
	for _, a := range si.aces {
		if !a.allow || a.inheritOnly || trusted(a.sid) {
			continue
		}
		if a.mask&rights != 0 {
			return fmt.Sprintf("can be changed by %s (access mask 0x%x): give it an administrators-only ACL", a.sid, a.mask)
		}
		if leaf && o.private && a.mask&readRights != 0 {
			return fmt.Sprintf("can be read by %s (access mask 0x%x): make it readable by you alone", a.sid, a.mask)
		}
	}
	return ""
}
