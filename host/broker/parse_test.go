// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// validateCapture is an authvalidate answer written from the INT capture
// (docs/references.md, "Broker: authvalidate"): field order, the DOCTYPE,
// unescaped & in role lines, an apostrophe, an org name with commas.
const validateCapture = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE USER SYSTEM "https://gas.nis1.national.ncrs.nhs.uk/login/dtd">
<gpOBJECT>
<gpPARAM name="log_session_id">Ao9qufl+uA</gpPARAM>
<gpPARAM name="error_url">https://gas.nis1.national.ncrs.nhs.uk/login/error</gpPARAM>
<gpPARAM name="server_ip">192.168.118.105</gpPARAM>
<gpPARAM name="cn">RA_A00394 RA A</gpPARAM>
<gpPARAM name="nhsjobrole0" id="887389426511" orgcode="B81012">STIRLING MEDICAL CENTRE (S KUMAR), "Admin & Clerical":"Admin":"Demographic Administrator"</gpPARAM>
<gpPARAM name="nhsjobrole1" id="555008642106" orgcode="B81012">STIRLING MEDICAL CENTRE (S KUMAR), "Admin & Clerical":"Management - A & C":"Registration Authority Manager"</gpPARAM>
<gpPARAM name="nhsjobrole2" id="102048850986" orgcode="B81108">SAHA SN & DE G, "Admin & Clerical":"Admin":"Registration Authority Agent"</gpPARAM>
<gpPARAM name="nhsjobrole3" id="102048879984" orgcode="D82105">ST CLEMENT'S SURGERY, "Admin & Clerical":"Admin":"Registration Authority Agent"</gpPARAM>
<gpPARAM name="nhsjobrole4" id="555000000001" orgcode="Y01234">SMITH, JONES & PARTNERS, "Clinical":"Clinical Provision":"Clinical Practitioner Access Role"</gpPARAM>
<gpPARAM name="gas_version">5.2.7</gpPARAM>
<gpPARAM name="sso_ticket">AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF+B1j56GJ4xGut4=@AAJTSQACMDE=#</gpPARAM>
<gpPARAM name="sso_domain">.nis.nhs.uk</gpPARAM>
<gpPARAM name="sso_session_url">http://192.168.62.13:8093/sessionmanager/session/update</gpPARAM>
<gpPARAM name="sso_max_session_time">600</gpPARAM>
<gpPARAM name="sso_keep_alive">false</gpPARAM>
<gpPARAM name="sso_session_time">600</gpPARAM>
<gpPARAM name="sso_logout_url">https://gas.nis1.national.ncrs.nhs.uk/login/authlogout</gpPARAM>
<gpPARAM name="auth_method">3</gpPARAM>
<gpPARAM name="app_url">NHST</gpPARAM>
<gpPARAM name="service">AUTHENTICATION</gpPARAM>
</gpOBJECT>
`

func TestParseDocument(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    map[string]string // fields and their decoded values
		roles   []Role            // when not nil, the roles expected (Raw ignored)
		wantErr string
	}{
		{
			// the real shape, all fields
			name: "capture",
			body: validateCapture,
			want: map[string]string{
				"sso_ticket": "AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF+B1j56GJ4xGut4=@AAJTSQACMDE=#",
				"cn":         "RA_A00394 RA A", "sso_session_time": "600", "service": "AUTHENTICATION",
				"sso_session_url": "http://192.168.62.13:8093/sessionmanager/session/update",
			},
			roles: []Role{
				{ID: "887389426511", OrgCode: "B81012", OrgName: "STIRLING MEDICAL CENTRE (S KUMAR)", JobRole: "Admin & Clerical", SubGroup: "Admin", Name: "Demographic Administrator"},
				{ID: "555008642106", OrgCode: "B81012", OrgName: "STIRLING MEDICAL CENTRE (S KUMAR)", JobRole: "Admin & Clerical", SubGroup: "Management - A & C", Name: "Registration Authority Manager"},
				{ID: "102048850986", OrgCode: "B81108", OrgName: "SAHA SN & DE G", JobRole: "Admin & Clerical", SubGroup: "Admin", Name: "Registration Authority Agent"},
				{ID: "102048879984", OrgCode: "D82105", OrgName: "ST CLEMENT'S SURGERY", JobRole: "Admin & Clerical", SubGroup: "Admin", Name: "Registration Authority Agent"},
				{ID: "555000000001", OrgCode: "Y01234", OrgName: "SMITH, JONES & PARTNERS", JobRole: "Clinical", SubGroup: "Clinical Provision", Name: "Clinical Practitioner Access Role"},
			},
		},
		{
			// fields we do not know are kept, never an error
			name: "unknown fields",
			body: `<gpOBJECT><gpPARAM name="future_thing" flavour="x">42</gpPARAM><gpPARAM name="sso_ticket">T</gpPARAM></gpOBJECT>`,
			want: map[string]string{"future_thing": "42", "sso_ticket": "T"},
		},
		{
			// order is not significant; roles are sorted by their number
			name: "reordered",
			body: `<gpOBJECT>
<gpPARAM name="nhsjobrole10" id="10" orgcode="B">ORG B, "J":"S":"Ten"</gpPARAM>
<gpPARAM name="sso_ticket">T</gpPARAM>
<gpPARAM name="nhsjobrole2" id="2" orgcode="A">ORG A, "J":"S":"Two"</gpPARAM>
<gpPARAM name="cn">X</gpPARAM>
</gpOBJECT>`,
			want:  map[string]string{"sso_ticket": "T", "cn": "X"},
			roles: []Role{{ID: "2", OrgCode: "A", OrgName: "ORG A", JobRole: "J", SubGroup: "S", Name: "Two"}, {ID: "10", OrgCode: "B", OrgName: "ORG B", JobRole: "J", SubGroup: "S", Name: "Ten"}},
		},
		{
			// a well-formed sender escapes &; both forms must read the same
			name:  "entities",
			body:  `<gpOBJECT><gpPARAM name="nhsjobrole0" id="1" orgcode="O&amp;1">A &amp; B, &quot;Admin &amp; Clerical&quot;:"x":"R &lt;1&gt; &#233;&#x41;"</gpPARAM></gpOBJECT>`,
			roles: []Role{{ID: "1", OrgCode: "O&1", OrgName: "A & B", JobRole: "Admin & Clerical", SubGroup: "x", Name: "R <1> éA"}},
		},
		{
			// an & that starts no entity is kept as is, as are unknown entities
			name: "bare and unknown ampersands",
			body: `<gpOBJECT><gpPARAM name="cn">A & B &nbsp; &#xZZ; &</gpPARAM></gpOBJECT>`,
			want: map[string]string{"cn": "A & B &nbsp; &#xZZ; &"},
		},
		{
			// a role text in an unexpected shape is still offered, whole
			name:  "odd role text",
			body:  `<gpOBJECT><gpPARAM name="nhsjobrole0" id="9">Just a name</gpPARAM><gpPARAM name="nhsjobrole1">no id: cannot be selected</gpPARAM></gpOBJECT>`,
			roles: []Role{{ID: "9", Name: "Just a name"}},
		},
		{
			// a failed login: no sso_ticket, error_url kept
			name: "refusal",
			body: `<?xml version="1.0"?><gpOBJECT><gpPARAM name="log_session_id">x</gpPARAM><gpPARAM name="error_url">https://b/login/error</gpPARAM></gpOBJECT>`,
			want: map[string]string{"error_url": "https://b/login/error"},
		},
		{
			// single quotes, spaces around =, self-closing and empty params
			name: "attribute forms",
			body: `<gpOBJECT><gpPARAM name = 'ticket'/><gpPARAM name="ssp_url"></gpPARAM><gpPARAM name="a">1</gpPARAM></gpOBJECT>`,
			want: map[string]string{"ticket": "", "ssp_url": "", "a": "1"},
		},
		{
			// the answer stopped half way: no closing tag
			name:    "truncated",
			body:    validateCapture[:len(validateCapture)/2],
			wantErr: "not a gpOBJECT",
		},
		{
			// an HTML error page from a proxy
			name:    "html error page",
			body:    "<html><body><h1>502 Bad Gateway</h1></body></html>",
			wantErr: "not a gpOBJECT",
		},
		{
			// binary garbage
			name:    "garbage",
			body:    "\x00\xff\xfe<gpOBJ",
			wantErr: "not a gpOBJECT",
		},
		{
			// bounded: a huge answer is refused before any parsing
			name:    "oversized",
			body:    "<gpOBJECT>" + strings.Repeat(`<gpPARAM name="x">y</gpPARAM>`, MaxBodySize/28+1) + "</gpOBJECT>",
			wantErr: "larger than 256 KiB",
		},
		{
			// bounded: too many parameters
			name:    "too many parameters",
			body:    "<gpOBJECT>" + strings.Repeat(`<gpPARAM name="x"/>`, maxParams+1) + "</gpOBJECT>",
			wantErr: "more than 2048",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := ParseDocument([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDocument: %v", err)
			}
			for k, v := range tc.want {
				got, ok := doc.Get(k)
				if !ok || got != v {
					t.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			if tc.roles != nil {
				got := rolesOf(doc)
				if len(got) != len(tc.roles) {
					t.Fatalf("got %d roles %+v, want %d", len(got), got, len(tc.roles))
				}
				for i := range got {
					got[i].Raw = ""
					if got[i] != tc.roles[i] {
						t.Errorf("role %d: got %+v, want %+v", i, got[i], tc.roles[i])
					}
				}
			}
		})
	}
}

const assertionCapture = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol" ResponseID="null" InResponseTo="null" MajorVersion="1" MinorVersion="1" IssueInstant="2018-06-28T14:30:51Z" Recipient="172.16.143.51">
    <samlp:Status>
        <samlp:StatusCode Value="samlp:Success"/>
    </samlp:Status>
    <saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="ba10" Issuer="http://iam" IssueInstant="2018-06-28T14:30:51Z">
        <saml:AttributeStatement>
            <saml:Attribute AttributeName="ssbAssertionVersion" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>1.1</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="cn" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>Downs Michelle Miss</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="uid" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>555006130103</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="ssbSessionRoleUid" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>555006304103</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="ssbMode" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>0</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsIdCode" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>RME</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="o" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>COMMUNICARE NHS TRUST</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsBusinessFunctions" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>Access DSA</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsJobRole" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>"Clinical":"Clinical Support":"Medical Secretary Access Role"</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="uniqueIdentifier" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>555006132105</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsJobRoleCode" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>S8000:G8001:R8006</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsIdCode" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>RME</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="o" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>COMMUNICARE NHS TRUST</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsJobRole" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>"Admin &amp; Clerical":"Admin":"Demographic Administrator"</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="uniqueIdentifier" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>555006304103</saml:AttributeValue>
            </saml:Attribute>
            <saml:Attribute AttributeName="nhsJobRoleCode" AttributeNamespace="http://www.syntegra.com">
                <saml:AttributeValue>S0080:G0440:R5110</saml:AttributeValue>
            </saml:Attribute>
        </saml:AttributeStatement>
    </saml:Assertion>
</samlp:Response>
`

func TestParseAssertion(t *testing.T) {
	a, err := ParseAssertion([]byte(assertionCapture))
	if err != nil {
		t.Fatalf("ParseAssertion: %v", err)
	}
	if a.UID != "555006130103" || a.Name != "Downs Michelle Miss" || a.SessionRoleID != "555006304103" || a.Mode != "0" || len(a.Roles) != 2 {
		t.Fatalf("assertion %+v", a)
	}
	sel, ok := a.SelectedRole()
	want := AssertionRole{ID: "555006304103", OrgCode: "RME", OrgName: "COMMUNICARE NHS TRUST", JobRole: `"Admin & Clerical":"Admin":"Demographic Administrator"`, JobRoleCode: "S0080:G0440:R5110", Name: "Demographic Administrator"}
	if !ok || sel != want {
		t.Errorf("selected role %+v, want %+v", sel, want)
	}

	cases := []struct {
		name   string
		body   string
		status bool // a *StatusError is expected
		errHas string
	}{
		// a dead ticket: a well-formed response with a failure status
		{"requester", `<samlp:Response><samlp:Status><samlp:StatusCode Value="samlp:Requester"/><samlp:StatusMessage>Invalid SSO token</samlp:StatusMessage></samlp:Status></samlp:Response>`, true, "samlp:Requester (Invalid SSO token)"},
		// another prefix, no message
		{"responder", `<Response><Status><StatusCode Value="Responder"/></Status></Response>`, true, "Responder"},
		// success but no uid: useless, so an error naming the field
		{"success without uid", `<Response><StatusCode Value="samlp:Success"/></Response>`, false, "no uid"},
		// no status at all
		{"no status", `<samlp:Response></samlp:Response>`, false, "no StatusCode"},
		// a proxy's page
		{"html", `<html>502</html>`, false, "not a saml response"},
		// cut short
		{"truncated", assertionCapture[:len(assertionCapture)/2], false, "not a saml response"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAssertion([]byte(tc.body))
			var se *StatusError
			if err == nil || errors.As(err, &se) != tc.status || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %v, want status error %v containing %q", err, tc.status, tc.errHas)
			}
		})
	}
}

func TestBuildRequest_Escapes(t *testing.T) {
	got := string(buildRequest([]requestParam{{name: "a", value: `x<&>"'`}, {name: "response", value: "QUJD", base64: true}}))
	want := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE USER SYSTEM \"gpOBJECT.DTD\">\n<gpOBJECT>\n" +
		"<gpPARAM name=\"a\">x&lt;&amp;&gt;&quot;&apos;</gpPARAM>\n<gpPARAM name=\"response\" encoding=\"base64\">QUJD</gpPARAM>\n</gpOBJECT>\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// what we send, we read back
	doc, err := ParseDocument([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := doc.Get("a"); v != `x<&>"'` {
		t.Errorf("round trip gave %q", v)
	}
}

func TestSessionExpiresAt(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name         string
		session, max time.Duration
		want         time.Time
	}{
		// the idle time decides when given
		{"session time", 600 * time.Second, 900 * time.Second, t0.Add(600 * time.Second)},
		// only the maximum given
		{"max only", 0, 900 * time.Second, t0.Add(900 * time.Second)},
		// nothing given: unknown
		{"unknown", 0, 0, time.Time{}},
	}
	for _, tc := range cases {
		s := &Session{Created: t0, SessionTime: tc.session, MaxSessionTime: tc.max}
		if got := s.ExpiresAt(); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSecretsNotInStrings(t *testing.T) {
	s := &Session{Ticket: "AQIC5wM2LY4SsecretTICKET@AAJTSQACMDE=#", UID: "1"}
	ch := &Challenge{Raw: "c2VjcmV0Q0hBTExFTkdF", Data: []byte("secretCHALLENGE"), Signature: "secretSIG"}
	for _, text := range []string{s.String(), ch.String()} {
		for _, secret := range []string{"secretTICKET", "c2VjcmV0Q0hBTExFTkdF", "secretCHALLENGE", "secretSIG"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q holds a secret", text)
			}
		}
	}
}

// FuzzParseReply feeds arbitrary answers to both parsers: they must never
// panic, and what they return must respect the bounds.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte(validateCapture))
	f.Add([]byte(assertionCapture))
	f.Fuzz(func(t *testing.T, body []byte) {
		if doc, err := ParseDocument(body); err == nil {
			if len(doc.Params) > maxParams {
				t.Fatalf("%d params", len(doc.Params))
			}
			for _, r := range rolesOf(doc) {
				if r.ID == "" {
					t.Fatal("a role without id")
				}
			}
		}
		if a, err := ParseAssertion(body); err == nil && a.UID == "" {
			t.Fatal("an assertion without uid")
		}
		_, _ = statusOK(body)
	})
}

func TestQueryEscape(t *testing.T) {
	// the ticket's + / = @ # and the GAC version's spaces, as the genuine
	// client encodes them
	if got := queryEscape("AQIC+a/b=@AAJTSQACMDE=# GACv7. 2"); got != "AQIC%2Ba%2Fb%3D%40AAJTSQACMDE%3D%23%20GACv7.%202" {
		t.Errorf("got %s", got)
	}
}
