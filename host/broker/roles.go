// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Role is one of the user's role profiles, from an nhsjobroleN parameter of
// the authvalidate answer:
//
//	<gpPARAM name="nhsjobrole0" id="887389426511" orgcode="B81012">STIRLING MEDICAL CENTRE (S KUMAR), "Admin & Clerical":"Admin":"Demographic Administrator"</gpPARAM>
type Role struct {
	// ID is the role profile UID (the id attribute), which role selection
	// takes; uniqueIdentifier in the SAML assertion.
	ID string
	// OrgCode is the organisation's ODS code (the orgcode attribute).
	OrgCode string
	// OrgName is the organisation's name; it may hold commas and &.
	OrgName string
	// JobRole is the first quoted part ("Admin & Clerical").
	JobRole string
	// SubGroup is the second quoted part ("Admin").
	SubGroup string
	// Name is the role name, the third quoted part ("Demographic
	// Administrator").
	Name string
	// Raw is the parameter's text as sent (entity-decoded).
	Raw string
}

// reRoleText splits `<org name>, "<job role>":"<sub>":"<role name>"`. The
// org name is greedy, so an org name with commas keeps them: the split is
// at the last `, "` before the three quoted parts.
var reRoleText = regexp.MustCompile(`(?s)^(.*),\s*"([^"]*)"\s*:\s*"([^"]*)"\s*:\s*"([^"]*)"\s*$`)

var reRoleName = regexp.MustCompile(`^nhsjobrole([0-9]{1,6})$`)

// parseRole reads one role parameter. A text that does not have the usual
// shape is kept whole as the role's Name, so that the user still sees
// something to pick.
func parseRole(p Param) Role {
	r := Role{ID: strings.TrimSpace(p.Attrs["id"]), OrgCode: strings.TrimSpace(p.Attrs["orgcode"]), Raw: p.Value}
	if m := reRoleText.FindStringSubmatch(p.Value); m != nil {
		r.OrgName = strings.TrimSpace(m[1])
		r.JobRole, r.SubGroup, r.Name = m[2], m[3], m[4]
	} else {
		r.Name = strings.TrimSpace(p.Value)
	}
	return r
}

// rolesOf returns the document's roles ordered by their number
// (nhsjobrole0, nhsjobrole1, … nhsjobrole10), skipping parameters without
// an id, which cannot be selected, and repeated ids.
func rolesOf(d *Document) []Role {
	type numbered struct {
		n int
		r Role
	}
	var list []numbered
	for _, p := range d.Params {
		m := reRoleName.FindStringSubmatch(p.Name)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		r := parseRole(p)
		if r.ID == "" {
			continue
		}
		list = append(list, numbered{n, r})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].n < list[j].n })
	seen := map[string]bool{}
	roles := make([]Role, 0, len(list))
	for _, e := range list {
		if seen[e.r.ID] {
			continue
		}
		seen[e.r.ID] = true
		roles = append(roles, e.r)
	}
	return roles
}
