// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDecodeRequest(t *testing.T) {
	long := strings.Repeat("a", MaxOriginLen+1)
	tests := []struct {
		name   string
		in     string
		wantID string
		ok     bool
		check  func(Request) bool
	}{
		{"a status request", `{"id":"1","type":"status"}`, "1", true, nil},
		{"a page's status carries its origin, checked before the user is named", `{"id":"1","type":"status","origin":"https://a.nhs.uk","frame":true}`, "1", true,
			func(r Request) bool { return r.Origin == "https://a.nhs.uk" && r.Frame }},
		{"a ticket request carries its origin", `{"id":"2","type":"getTicket","origin":"https://a.nhs.uk"}`, "2", true,
			func(r Request) bool { return r.Origin == "https://a.nhs.uk" }},
		{"a pin request", `{"id":"3","type":"pin","pin":"123456"}`, "3", true, func(r Request) bool { return r.PIN == "123456" }},
		{"hello with policy settings", `{"id":"4","type":"hello","protocol":"1.0","settings":{"promptOnCardInsert":false,"pinTimeoutSeconds":60}}`, "4", true,
			func(r Request) bool {
				return r.Settings != nil && !*r.Settings.PromptOnCardInsert && *r.Settings.PINTimeoutSeconds == 60
			}},
		{"a page request from a frame says so", `{"id":"13","type":"getTicket","origin":"https://a.nhs.uk","frame":true}`, "13", true,
			func(r Request) bool { return r.Frame && strings.Contains(r.String(), " frame") }},
		{"frame must be a boolean", `{"id":"14","type":"getTicket","origin":"https://a.nhs.uk","frame":"yes"}`, "14", false, nil},
		{"frame belongs to page requests only", `{"id":"15","type":"pin","pin":"1","frame":true}`, "15", false, nil},
		{"not an object", `[1,2]`, "", false, nil},
		{"no id: cannot be answered by id", `{"type":"status"}`, "", false, nil},
		{"id is not a string", `{"id":7,"type":"status"}`, "", false, nil},
		{"id over its bound", `{"id":"` + strings.Repeat("i", MaxIDLen+1) + `","type":"status"}`, "", false, nil},
		{"unknown type, but the id is known so it can be answered", `{"id":"5","type":"format"}`, "5", false, nil},
		{"a field of another request type is unknown here", `{"id":"6","type":"status","pin":"1"}`, "6", false, nil},
		{"a missing required field", `{"id":"7","type":"getTicket"}`, "7", false, nil},
		{"origin over its bound", `{"id":"8","type":"getTicket","origin":"` + long + `"}`, "8", false, nil},
		{"pin over its bound", `{"id":"9","type":"pin","pin":"` + strings.Repeat("1", MaxPINLen+1) + `"}`, "9", false, nil},
		{"settings with an unknown key", `{"id":"10","type":"hello","settings":{"allowedOrigins":["*"]}}`, "10", false, nil},
		{"passcode timeout out of range", `{"id":"11","type":"hello","settings":{"pinTimeoutSeconds":1}}`, "11", false, nil},
		{"trailing data after the object", `{"id":"12","type":"status"} {}`, "", false, nil},
		{"invalid utf-8", "{\"id\":\"\xff\",\"type\":\"status\"}", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, id, err := DecodeRequest([]byte(tt.in))
			if id != tt.wantID {
				t.Errorf("id = %q, want %q", id, tt.wantID)
			}
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && CodeOf(err) != CodeBadRequest {
				t.Errorf("code = %s, want BAD_REQUEST", CodeOf(err))
			}
			if tt.check != nil && !tt.check(r) {
				t.Errorf("decoded %+v", r)
			}
		})
	}
}

func TestRequestString_HidesPIN(t *testing.T) {
	s := Request{ID: "1", Type: ReqPIN, PIN: "424242"}.String()
	if strings.Contains(s, "424242") {
		t.Fatalf("String() leaks the passcode: %s", s)
	}
}

func TestResultAndEventJSON(t *testing.T) {
	exp := time.Date(2026, 11, 24, 22, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"success with a ticket", OK("1", TicketBody{Ticket: "T", Session: Session{User: &User{UID: "555000111222", Name: "J"}, ExpiresAt: &exp}}),
			`{"id":"1","type":"result","ok":true,"ticket":"T","user":{"uid":"555000111222","name":"J"},"expiresAt":"2026-11-24T22:30:00Z"}`},
		{"success with no body", OK("2", nil), `{"id":"2","type":"result","ok":true}`},
		{"a failure carries code, legacy number and message", Fail("3", New(CodePINLocked)),
			`{"id":"3","type":"result","ok":false,"error":{"code":"PIN_LOCKED","legacyCode":2149580804,"message":"` + New(CodePINLocked).Message + `"}}`},
		{"an error without a code becomes INTERNAL and hides its text", Fail("4", errors.New("/secret/path")),
			`{"id":"4","type":"result","ok":false,"error":{"code":"INTERNAL","legacyCode":2148532225,"message":"` + New(CodeInternal).Message + `"}}`},
		{"an event with no body", Event{Name: EvCardRemoved}, `{"type":"event","event":"cardRemoved"}`},
		{"a pinRequired event keeps a zero attemptsLeft", Event{Name: EvPINRequired, Body: PINPrompt{AttemptsLeft: 0}},
			`{"type":"event","event":"pinRequired","attemptsLeft":0,"finalTry":false,"pinPad":false,"timeoutSeconds":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
			var f Frame
			if err := json.Unmarshal(b, &f); err != nil {
				t.Errorf("a client cannot read it back: %v", err)
			}
		})
	}
}

func TestCodes_UniqueAndDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| (0x[0-9A-F]{8}|—) \\|")
	documented := map[Code]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[Code(m[1])] = m[2]
	}
	seen := map[Code]bool{}
	for _, c := range Codes {
		if seen[c.Code] {
			t.Errorf("code %s is defined twice", c.Code)
		}
		seen[c.Code] = true
		want := "—"
		if c.Legacy != 0 {
			want = fmt.Sprintf("0x%08X", c.Legacy)
		}
		got, ok := documented[c.Code]
		if !ok {
			t.Errorf("code %s is not in docs/protocol.md §4", c.Code)
		} else if got != want {
			t.Errorf("code %s: docs say legacy %s, code says %s", c.Code, got, want)
		}
		if c.Message == "" || strings.HasSuffix(c.Message, ".") {
			t.Errorf("code %s: message must be set, without a final period", c.Code)
		}
	}
	for c := range documented {
		if !seen[c] {
			t.Errorf("docs/protocol.md lists %s, which the code does not define", c)
		}
	}
}

// FuzzDecodeRequest: no input may panic the decoder, and whatever it accepts
// must respect every bound.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"id":"1","type":"getTicket","origin":"https://a.nhs.uk"}`))
	f.Add([]byte(`{"id":"1","type":"hello","settings":{"pinTimeoutSeconds":30}}`))
	f.Add([]byte(`{"id":"1","type":"pin","pin":"1234"}`))
	f.Add([]byte(`{"id":"","type":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _, err := DecodeRequest(data)
		if err != nil {
			if CodeOf(err) != CodeBadRequest {
				t.Fatalf("error with code %s", CodeOf(err))
			}
			return
		}
		if r.ID == "" || len(r.ID) > MaxIDLen || len(r.Origin) > MaxOriginLen || len(r.PIN) > MaxPINLen {
			t.Fatalf("accepted a request out of bounds: %v", r)
		}
		if _, ok := requestFields[r.Type]; !ok {
			t.Fatalf("accepted unknown type %q", r.Type)
		}
	})
}
