// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
)

// User is a smartcard holder the simulator knows.
type User struct {
	// UID is the 12-digit user id: the CN of the user's certificate.
	UID string `json:"uid"`
	// Name is the user's name, sent as cn.
	Name string `json:"name"`
	// Roles are the user's role profiles.
	Roles []Role `json:"roles"`
}

// Role is one role profile of a user.
type Role struct {
	ID          string `json:"id"`                    // the role profile UID
	OrgCode     string `json:"orgCode"`               // ODS code
	OrgName     string `json:"orgName"`               // may hold commas and &
	JobRole     string `json:"jobRole"`               // e.g. "Admin & Clerical"
	SubGroup    string `json:"subGroup,omitempty"`    // e.g. "Admin"; defaults to JobRole
	Name        string `json:"name"`                  // the role name
	JobRoleCode string `json:"jobRoleCode,omitempty"` // e.g. S8000:G8000:R8003, for the SAML assertion
}

// usersFile is the JSON form of a --users file.
type usersFile struct {
	Users []User `json:"users"`
}

// DefaultUsers returns the simulator's built-in users: 555000111222 "Jane
// Smith" with three roles (one in "Admin & Clerical", one at an organisation
// whose name holds a comma and &), and 555000333444 "John Doe" with one.
func DefaultUsers() []User {
	return []User{
		{UID: "555000111222", Name: "Jane Smith", Roles: []Role{
			{ID: "555254242105", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Clinical", SubGroup: "Clinical Provision", Name: "Clinical Practitioner Access Role", JobRoleCode: "S8000:G8000:R8000"},
			{ID: "555254242106", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Admin & Clerical", SubGroup: "Admin", Name: "Registration Authority Agent", JobRoleCode: "S8001:G8005:R8008"},
			{ID: "555254242107", OrgCode: "Y01234", OrgName: "SMITH, JONES & PARTNERS", JobRole: "Admin & Clerical", SubGroup: "Management - A & C", Name: "Demographic Administrator", JobRoleCode: "S0080:G0440:R5110"},
		}},
		{UID: "555000333444", Name: "John Doe", Roles: []Role{
			{ID: "555254242201", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Clinical", SubGroup: "Clinical Support", Name: "Medical Secretary Access Role", JobRoleCode: "S8000:G8001:R8006"},
		}},
	}
}

// maxUsersFile bounds a --users file.
const maxUsersFile = 4 << 20

var (
	reUID    = regexp.MustCompile(`^[0-9]{12}$`)
	reRoleID = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)
)

// LoadUsers reads a users file: {"users":[{"uid","name","roles":[{"id",
// "orgCode","orgName","jobRole","subGroup","name","jobRoleCode"}]}]}.
// Unknown fields are errors, so that a typo does not silently drop a role.
func LoadUsers(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUsersFile+1))
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	if len(data) > maxUsersFile {
		return nil, fmt.Errorf("users file %s is larger than 4 MiB", path)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var uf usersFile
	if err := dec.Decode(&uf); err != nil {
		return nil, fmt.Errorf("users file %s: %w: see docs/broker.md for the format", path, err)
	}
	if err := checkUsers(uf.Users); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return uf.Users, nil
}

func checkUsers(users []User) error {
	if len(users) == 0 {
		return fmt.Errorf("no users: give at least one")
	}
	seen := map[string]bool{}
	for i, u := range users {
		if !reUID.MatchString(u.UID) {
			return fmt.Errorf("user %d: uid %q is not 12 digits", i, u.UID)
		}
		if seen[u.UID] {
			return fmt.Errorf("user %s is listed twice", u.UID)
		}
		seen[u.UID] = true
		ids := map[string]bool{}
		for j, r := range u.Roles {
			if !reRoleID.MatchString(r.ID) {
				return fmt.Errorf("user %s role %d: id %q is not 1-64 letters and digits", u.UID, j, r.ID)
			}
			if ids[r.ID] {
				return fmt.Errorf("user %s: role %s is listed twice", u.UID, r.ID)
			}
			ids[r.ID] = true
			if r.Name == "" {
				return fmt.Errorf("user %s role %s: no name", u.UID, r.ID)
			}
		}
	}
	return nil
}

func (r Role) subGroup() string {
	if r.SubGroup != "" {
		return r.SubGroup
	}
	return r.JobRole
}

// line is the role as the broker writes it in nhsjobroleN, unescaped:
// <org name>, "<job role>":"<sub>":"<role name>".
func (r Role) line() string {
	return fmt.Sprintf(`%s, "%s":"%s":"%s"`, r.OrgName, r.JobRole, r.subGroup(), r.Name)
}
