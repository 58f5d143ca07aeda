// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Assertion is what the broker's SAML 1.1 role assertion says about a
// session (docs/references.md, "Broker: role assertion"). Unknown attributes
// are ignored.
type Assertion struct {
	// UID is the user's id (uid).
	UID string
	// Name is the user's name (cn).
	Name string
	// SessionRoleID is ssbSessionRoleUid: the role selected for the
	// session, empty before selection.
	SessionRoleID string
	// Mode is ssbMode: "0" live, "1" training, empty when absent.
	Mode string
	// Roles are the role blocks of the assertion, in order.
	Roles []AssertionRole
}

// AssertionRole is one job role block of an assertion.
type AssertionRole struct {
	ID          string // uniqueIdentifier
	OrgCode     string // nhsIdCode
	OrgName     string // o
	JobRole     string // nhsJobRole, e.g. "Clinical":"Clinical Provision":"Health Professional Access Role"
	JobRoleCode string // nhsJobRoleCode, e.g. S8000:G8000:R8003
	Name        string // the last quoted part of JobRole
}

// SelectedRole returns the role block whose ID is SessionRoleID, and whether
// there is one.
func (a *Assertion) SelectedRole() (AssertionRole, bool) {
	for _, r := range a.Roles {
		if a.SessionRoleID != "" && r.ID == a.SessionRoleID {
			return r, true
		}
	}
	return AssertionRole{}, false
}

// StatusError is returned by [ParseAssertion] for a well-formed SAML
// response whose status is not success: the broker does not know the
// ticket (dead, logged out, expired).
type StatusError struct {
	// Status is the StatusCode Value, e.g. "samlp:Requester".
	Status string
	// Message is the StatusMessage, if any (never holds the ticket: the
	// client does not echo it into logs).
	Message string
}

// Error returns "the broker's role assertion status is <status>".
func (e *StatusError) Error() string {
	s := "the broker's role assertion status is " + e.Status
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s + ": the session is over"
}

var (
	reSAMLResponse = regexp.MustCompile(`(?s)<(?:[A-Za-z0-9_]+:)?Response\b.*</(?:[A-Za-z0-9_]+:)?Response\s*>`)
	reStatusCode   = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?StatusCode\b[^>]*?\bValue\s*=\s*"([^"]*)"`)
	reStatusMsg    = regexp.MustCompile(`(?s)<(?:[A-Za-z0-9_]+:)?StatusMessage\b[^>]*>(.*?)</`)
	reSAMLAttr     = regexp.MustCompile(`(?s)<(?:[A-Za-z0-9_]+:)?Attribute\b([^>]*)>(.*?)</(?:[A-Za-z0-9_]+:)?Attribute\s*>`)
	reAttrName     = regexp.MustCompile(`\bAttributeName\s*=\s*"([^"]*)"`)
	reAttrValue    = regexp.MustCompile(`(?s)<(?:[A-Za-z0-9_]+:)?AttributeValue\b[^>]*>(.*?)</(?:[A-Za-z0-9_]+:)?AttributeValue\s*>`)
	reLastQuoted   = regexp.MustCompile(`"([^"]*)"\s*$`)
)

// ParseAssertion reads a RoleAssertion answer. It is as tolerant as
// [ParseDocument]: a scanner over the text, any namespace prefix, unknown
// attributes skipped, bounded by [MaxBodySize]. A status other than success
// gives a *[StatusError]; a body that is not a SAML response, or a success
// without uid, gives another error.
func ParseAssertion(body []byte) (*Assertion, error) {
	if len(body) > MaxBodySize {
		return nil, errTooLarge
	}
	text := strings.ToValidUTF8(string(body), "\uFFFD")
	resp := reSAMLResponse.FindString(text)
	if resp == "" {
		return nil, errors.New("the answer is not a saml response (garbage, an error page, or cut short)")
	}
	m := reStatusCode.FindStringSubmatch(resp)
	if m == nil {
		return nil, &MissingFieldError{Field: "StatusCode"}
	}
	status := decodeEntities(m[1])
	if status != "Success" && !strings.HasSuffix(status, ":Success") {
		se := &StatusError{Status: bounded(status)}
		if mm := reStatusMsg.FindStringSubmatch(resp); mm != nil {
			se.Message = bounded(strings.TrimSpace(decodeEntities(mm[1])))
		}
		return nil, se
	}
	a := &Assertion{}
	var cur *AssertionRole
	for _, am := range reSAMLAttr.FindAllStringSubmatch(resp, maxParams) {
		nm := reAttrName.FindStringSubmatch(am[1])
		if nm == nil {
			continue
		}
		var value string
		if vm := reAttrValue.FindStringSubmatch(am[2]); vm != nil {
			value = bounded(strings.TrimSpace(decodeEntities(vm[1])))
		}
		// A role block starts at nhsIdCode, or when an attribute of the
		// current block comes again.
		roleField := func(get func(*AssertionRole) *string) {
			if cur == nil || *get(cur) != "" {
				a.Roles = append(a.Roles, AssertionRole{})
				cur = &a.Roles[len(a.Roles)-1]
			}
			*get(cur) = value
		}
		switch decodeEntities(nm[1]) {
		case "uid":
			a.UID = value
		case "cn":
			a.Name = value
		case "ssbSessionRoleUid":
			a.SessionRoleID = value
		case "ssbMode":
			a.Mode = value
		case "nhsIdCode":
			a.Roles = append(a.Roles, AssertionRole{OrgCode: value})
			cur = &a.Roles[len(a.Roles)-1]
		case "o":
			roleField(func(r *AssertionRole) *string { return &r.OrgName })
		case "nhsJobRole":
			roleField(func(r *AssertionRole) *string { return &r.JobRole })
			if q := reLastQuoted.FindStringSubmatch(value); q != nil {
				cur.Name = q[1]
			} else {
				cur.Name = value
			}
		case "nhsJobRoleCode":
			roleField(func(r *AssertionRole) *string { return &r.JobRoleCode })
		case "uniqueIdentifier":
			roleField(func(r *AssertionRole) *string { return &r.ID })
		}
	}
	if a.UID == "" {
		return nil, &MissingFieldError{Field: "uid"}
	}
	return a, nil
}

// String describes the assertion.
func (a *Assertion) String() string {
	return fmt.Sprintf("broker.Assertion{uid %s, role %s, %d role blocks}", a.UID, a.SessionRoleID, len(a.Roles))
}
