// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

const (
	testTicket    = "AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF+B1j56GJ4xGut4=@AAJTSQACMDE=#"
	testChallenge = "Q2hhbGxlbmdlIGZyb20gdGhlIGJyb2tlcjogNDFmMmE5YjA3YzE="
	testSignature = "c2VydmVyIHNpZ25hdHVyZSBvdmVyIHRoZSBjaGFsbGVuZ2UgKyB0aW1lc3RhbXA="
)

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		secret string // must be gone
		keep   string // must stay
	}{
		// The brief's ticket pattern, with the trailing #.
		{"ticket", "got " + testTicket + " ok", testTicket, "got [REDACTED] ok"},
		// Tickets travel URL-encoded in the RoleSelection query.
		{"url-encoded ticket", "GET /saml/RoleSelectionGP.jsp?selectedRoleUid=5551&tk=AQIC5wM2LY4S%2Bfcwr%3D%40AAJTSQACMDE%3D%23 200", "AQIC5wM2LY4S%2Bfcwr", "selectedRoleUid=5551"},
		// token= is the RoleAssertion and RoleSelection parameter name.
		{"token query parameter", "url=/saml/RoleAssertion?token=short-token-value&x=1", "short-token-value", "&x=1"},
		// A developer's pin=%s, with the words around it kept.
		{"pin key=value", "login attempt pin=k4Tz9mW slot=1", "k4Tz9mW", "slot=1"},
		// Quoted values with spaces must go whole.
		{"quoted passcode", `set passcode="ab cd ef" done`, "ab cd ef", "done"},
		// A passcode word as a suffix of a longer key.
		{"user_pin key", "user_pin=7Hq2x9 next", "7Hq2x9", "next"},
		// The human form "pin: 1234".
		{"pin colon", "bad pin: Zx81kq, 2 tries left", "Zx81kq", "2 tries left"},
		// The gpPARAM carrying the ticket in authvalidate's answer.
		{"gpPARAM sso_ticket", `<gpPARAM name="sso_ticket">short-ticket</gpPARAM><gpPARAM name="uid">102048843983</gpPARAM>`, "short-ticket", "102048843983"},
		// challenge and signature are echoed in authvalidate requests.
		{"gpPARAM challenge", `<gpPARAM name="challenge">c2hvcnQ=</gpPARAM>`, "c2hvcnQ=", `<gpPARAM name="challenge">`},
		{"gpPARAM signature", `<gpPARAM name="signature">c2ln</gpPARAM>`, "c2ln<", "</gpPARAM>"},
		// The response element has a second attribute.
		{"gpPARAM response", `<gpPARAM name="response" encoding="base64">cmVzcA==</gpPARAM>`, "cmVzcA==", `encoding="base64"`},
		// Empty gpPARAMs stay empty so the log shows they were empty.
		{"empty gpPARAM", `<gpPARAM name="ticket"></gpPARAM>`, "[REDACTED]", `<gpPARAM name="ticket"></gpPARAM>`},
		// JSON bodies (extension requests) with the pin as a string.
		{"json pin", `{"type":"login","pin":"k4Tz9mW","role":"R8000"}`, "k4Tz9mW", `"role":"R8000"`},
		// A pin sent as a number.
		{"json numeric pin", `{"pin": 482910, "slot": 0}`, "482910", `"slot": 0`},
		// JSON with escaped quotes, as when a body was logged inside JSON.
		{"escaped json ticket", `{\"ticket\":\"opaque-value\",\"ok\":true}`, "opaque-value", `\"ok\":true`},
		// Long base64 runs: challenges and signatures.
		{"base64 run", "challenge " + testChallenge + " from broker", testChallenge[:40], "from broker"},
		// A multi-line base64 block (the S/MIME part) goes whole, short
		// last line included.
		{"multi-line base64", "smime " + strings.Repeat("QUJD", 19) + "\r\n" + strings.Repeat("REVG", 19) + "\r\nR0hJ\r\n end", "R0hJ", " end"},
		// Short base64-looking words are ordinary text.
		{"plain words", "card inserted in reader OMNIKEY 3121 slot 0", "", "card inserted in reader OMNIKEY 3121 slot 0"},
		// Paths must survive for support.
		{"path", "module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so loaded", "", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := Redact(c.in)
			if c.secret != "" && strings.Contains(got, c.secret) {
				t.Errorf("Redact(%q) = %q, still holds %q", c.in, got, c.secret)
			}
			if !strings.Contains(got, c.keep) {
				t.Errorf("Redact(%q) = %q, lost %q", c.in, got, c.keep)
			}
		})
	}
}

type loginRequest struct {
	User     string
	Passcode string
	Nested   struct{ SSOTicket string }
}

type panicStringer struct{}

func (panicStringer) String() string { panic("boom") }

type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

func TestRedactHook_Fields(t *testing.T) {
	t.Parallel()
	var typedNil *nilErr
	cases := []struct {
		name  string
		key   string
		value any
		want  any
	}{
		// Secret names are redacted whatever the type.
		{"pin string", "pin", "k4Tz9mW", Redacted},
		{"pin int", "PIN", 482910, Redacted},
		{"case-insensitive suffix", "SSO_Ticket", testTicket, Redacted},
		{"camelCase prefix", "challengeB64", "x", Redacted},
		{"signature bytes", "serverSignature", []byte{1, 2}, Redacted},
		// Other names keep harmless values as they are.
		{"uid", "uid", "102048843983", "102048843983"},
		{"count", "slot", 3, 3},
		// Other strings are scrubbed as text.
		{"ticket inside text", "detail", "got " + testTicket, "got " + Redacted},
		// errors become their scrubbed text.
		{"error", "error", errors.New("refused " + testTicket + ": expired"), "refused " + Redacted + ": expired"},
		// A typed nil error whose Error panics is replaced, not fatal.
		{"typed nil error", "error", error(typedNil), "[unloggable *logging.nilErr]"},
		{"panicking Stringer", "thing", panicStringer{}, "[unloggable logging.panicStringer]"},
		// Unknown binary data is never written.
		{"bytes", "blob", []byte("k4Tz9mW"), Redacted},
		// Nested maps: the key decides, at any depth.
		{"nested map", "req", map[string]any{"pin": "k4Tz9mW", "role": "R1", "list": []any{"a", map[string]any{"token": "t"}}},
			map[string]any{"pin": Redacted, "role": "R1", "list": []any{"a", map[string]any{"token": Redacted}}}},
		{"string map", "hdr", map[string]string{"X-Ticket": "t", "Accept": "*/*"}, map[string]any{"X-Ticket": Redacted, "Accept": "*/*"}},
		{"string slice", "args", []string{"pin=k4Tz9mW", "-v"}, []any{"pin=" + Redacted, "-v"}},
		// Structs are scrubbed through their JSON form, by field name too.
		{"struct", "req", loginRequest{User: "u1", Passcode: "k4Tz9mW", Nested: struct{ SSOTicket string }{"t"}},
			map[string]any{"User": "u1", "Passcode": Redacted, "Nested": map[string]any{"SSOTicket": Redacted}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := &logrus.Entry{Data: logrus.Fields{c.key: c.value}, Message: "m"}
			if err := (redactHook{}).Fire(e); err != nil {
				t.Fatalf("Fire returned %v: it must never fail", err)
			}
			if got, want := fmt.Sprint(e.Data[c.key]), fmt.Sprint(c.want); got != want {
				t.Errorf("%s=%#v scrubbed to %s, want %s", c.key, c.value, got, want)
			}
		})
	}
}

func TestRedactHook_CopiesNestedValues(t *testing.T) {
	t.Parallel()
	req := map[string]any{"pin": "k4Tz9mW"}
	list := []any{testTicket}
	e := &logrus.Entry{Data: logrus.Fields{"req": req, "list": list}}
	_ = redactHook{}.Fire(e)
	if req["pin"] != "k4Tz9mW" || list[0] != testTicket {
		t.Errorf("the caller's values were changed: %v %v", req, list)
	}
}

func TestRedactHook_Bounds(t *testing.T) {
	t.Parallel()
	deep := map[string]any{}
	cur := deep
	for range 40 {
		next := map[string]any{}
		cur["d"] = next
		cur = next
	}
	long := strings.Repeat("ab ", 20000)
	e := &logrus.Entry{Data: logrus.Fields{"deep": deep, "long": long, "many": make([]any, 1000)}, Message: long}
	_ = redactHook{}.Fire(e)
	if n := len(e.Data["long"].(string)); n > maxValueLen+64 {
		t.Errorf("a %d-byte field was kept at %d bytes", len(long), n)
	}
	if n := len(e.Message); n > maxValueLen+64 {
		t.Errorf("a %d-byte message was kept at %d bytes", len(long), n)
	}
	if n := len(e.Data["many"].([]any)); n != maxItems+1 {
		t.Errorf("a 1000-element slice kept %d elements, want %d and a count", n, maxItems)
	}
	if s := fmt.Sprint(e.Data["deep"]); !strings.Contains(s, "nested too deep") {
		t.Errorf("a 40-deep map was not cut: %.200s", s)
	}
}
