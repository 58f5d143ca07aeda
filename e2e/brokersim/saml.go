// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

const samlTime = "2006-01-02T15:04:05Z"

// roleAssertion answers GET /saml/RoleAssertion?token= with a SAML 1.1
// response shaped like the spine-core example (docs/references.md, "Broker:
// role assertion"): a person block, then one block per role of the user.
func (s *Server) roleAssertion(r *http.Request, e *Entry, _ *Fault) answer {
	e.Fields = queryFields(r)
	ticket := r.URL.Query().Get("token")
	now := s.now().UTC()
	sess := s.tickets.use(ticket, now, nil)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol" ResponseID="null" InResponseTo="null" MajorVersion="1" MinorVersion="1" IssueInstant="%s" Recipient="%s">`+"\n",
		now.Format(samlTime), xmlEscape(serverIP(r)))
	if sess == nil {
		e.Outcome = "refused: unknown or expired ticket"
		b.WriteString("    <samlp:Status>\n        <samlp:StatusCode Value=\"samlp:Requester\"/>\n        <samlp:StatusMessage>Invalid SSO token</samlp:StatusMessage>\n    </samlp:Status>\n</samlp:Response>\n")
		return answer{status: http.StatusOK, contentType: "text/xml;charset=UTF-8", body: b.Bytes()}
	}
	e.UID, e.Outcome = sess.UID, "assertion issued"
	user := s.users[sess.UID]
	issuer := "https://" + r.Host
	notBefore, notAfter := now.Add(-3*time.Minute).Format(samlTime), now.Add(time.Minute).Format(samlTime)
	nameID := "uid=" + user.UID + ",ou=People,o=nhs"
	b.WriteString("    <samlp:Status>\n        <samlp:StatusCode Value=\"samlp:Success\"/>\n    </samlp:Status>\n")
	fmt.Fprintf(&b, `    <saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="%s" Issuer="%s" IssueInstant="%s">`+"\n",
		assertionID(), xmlEscape(issuer), now.Format(samlTime))
	fmt.Fprintf(&b, "        <saml:Conditions NotBefore=\"%s\" NotOnOrAfter=\"%s\"/>\n        <saml:AttributeStatement>\n", notBefore, notAfter)
	fmt.Fprintf(&b, "            <saml:Subject>\n                <saml:NameIdentifier NameQualifier=\"o=nhs\">%s</saml:NameIdentifier>\n", nameID)
	fmt.Fprintf(&b, "                <saml:SubjectConfirmation>\n                    <saml:ConfirmationMethod>urn:com:sun:identity</saml:ConfirmationMethod>\n")
	fmt.Fprintf(&b, "                    <saml:SubjectConfirmationData>\n                        <saml:Assertion MajorVersion=\"1\" MinorVersion=\"1\" AssertionID=\"%s\" Issuer=\"%s\" IssueInstant=\"%s\">\n",
		assertionID(), xmlEscape(issuer), now.Format(samlTime))
	fmt.Fprintf(&b, "                            <saml:AuthenticationStatement AuthenticationInstant=\"%s\" AuthenticationMethod=\"urn:com:sun:identity:ExtendedLoginModule\">\n", sess.Created.UTC().Format(samlTime))
	fmt.Fprintf(&b, "                                <saml:Subject>\n                                    <saml:NameIdentifier NameQualifier=\"o=nhs\">%s</saml:NameIdentifier>\n", nameID)
	fmt.Fprintf(&b, "                                    <saml:SubjectConfirmation>\n                                        <saml:ConfirmationMethod>urn:com:sun:identity</saml:ConfirmationMethod>\n")
	fmt.Fprintf(&b, "                                        <saml:SubjectConfirmationData>%s</saml:SubjectConfirmationData>\n", xmlEscape(ticket))
	b.WriteString("                                    </saml:SubjectConfirmation>\n                                </saml:Subject>\n")
	fmt.Fprintf(&b, "                                <saml:SubjectLocality IPAddress=\"%s\"/>\n", xmlEscape(remoteIP(r)))
	b.WriteString("                            </saml:AuthenticationStatement>\n                        </saml:Assertion>\n                    </saml:SubjectConfirmationData>\n")
	b.WriteString("                </saml:SubjectConfirmation>\n            </saml:Subject>\n")
	attr := func(name string, values ...string) {
		fmt.Fprintf(&b, "            <saml:Attribute AttributeName=\"%s\" AttributeNamespace=\"http://www.syntegra.com\">\n", name)
		for _, v := range values {
			fmt.Fprintf(&b, "                <saml:AttributeValue>%s</saml:AttributeValue>\n", xmlEscape(v))
		}
		b.WriteString("            </saml:Attribute>\n")
	}
	attr("ssbAssertionVersion", "1.1")
	attr("cn", user.Name)
	attr("uid", user.UID)
	if sess.RoleID != "" {
		attr("ssbSessionRoleUid", sess.RoleID)
	}
	attr("ssbMode", "0")
	for _, role := range user.Roles {
		attr("nhsIdCode", role.OrgCode)
		attr("o", role.OrgName)
		attr("nhsJobRole", fmt.Sprintf(`"%s":"%s":"%s"`, role.JobRole, role.subGroup(), role.Name))
		attr("uniqueIdentifier", role.ID)
		if role.JobRoleCode != "" {
			attr("nhsJobRoleCode", role.JobRoleCode)
		}
	}
	b.WriteString("        </saml:AttributeStatement>\n    </saml:Assertion>\n</samlp:Response>\n")
	return answer{status: http.StatusOK, contentType: "text/xml;charset=UTF-8", body: b.Bytes()}
}

func assertionID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "d"
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			host = host[:i]
			break
		}
	}
	return host
}
