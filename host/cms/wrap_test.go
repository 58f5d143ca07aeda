// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package cms

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/host/protocol"
)

func TestWrapResponse_Shape(t *testing.T) {
	_, u := testPKI(t)
	der, err := Sign(challenge, u.Cert, u.Key, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	out := WrapResponse(der)
	if strings.ContainsAny(out, "\r\n \t") {
		t.Errorf("outer base64 has white space; it goes on one line in the XML")
	}
	inner, err := base64.StdEncoding.DecodeString(out)
	if err != nil {
		t.Fatalf("outer is not padded standard base64: %v", err)
	}
	head, body, ok := strings.Cut(string(inner), "\r\n\r\n")
	if !ok {
		t.Fatalf("no CRLF blank line after the header in %q", inner)
	}
	wantHead := "MIME-Version: 1.0\r\n" +
		"Content-Disposition: attachment; filename=\"smime.p7m\"\r\n" +
		"Content-Type: application/x-pkcs7-mime; name=\"smime.p7m\"\r\n" +
		"Content-Transfer-Encoding: base64"
	if head != wantHead {
		t.Errorf("header\n%q\nwant\n%q", head, wantHead)
	}
	if !strings.HasSuffix(body, "\r\n") {
		t.Errorf("body does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	for i, l := range lines {
		if i < len(lines)-1 && len(l) != 76 || len(l) > 76 || len(l) == 0 {
			t.Errorf("line %d is %d characters, want 76 (the last at most 76)", i, len(l))
		}
		if strings.Contains(l, "\n") {
			t.Errorf("line %d has a bare LF", i)
		}
	}
	got, err := base64.StdEncoding.DecodeString(strings.Join(lines, ""))
	if err != nil || !bytes.Equal(got, der) {
		t.Errorf("inner base64 does not decode to the DER: %v", err)
	}
}

func TestWrapResponse_LineBoundaries(t *testing.T) {
	// DER lengths whose base64 is just under, at and over one and two lines
	// (57 bytes encode to exactly 76 characters).
	for _, n := range []int{1, 56, 57, 58, 114, 115} {
		der := bytes.Repeat([]byte{0x30}, n)
		inner, _ := base64.StdEncoding.DecodeString(WrapResponse(der))
		if c := strings.Count(string(inner), "\r\n\r\n"); c != 1 || !strings.HasSuffix(string(inner), "\r\n") {
			t.Errorf("n=%d: %d blank lines, want only the one after the header, and a final CRLF", n, c)
		}
		got, err := UnwrapResponse(WrapResponse(der))
		if err != nil || !bytes.Equal(got, der) {
			t.Errorf("n=%d: round trip: %v", n, err)
		}
	}
}

func TestUnwrapResponse(t *testing.T) {
	der := bytes.Repeat([]byte("\x30\x82signed data "), 20)
	b64 := base64.StdEncoding.EncodeToString(der)
	wrap := func(inner string) string { return base64.StdEncoding.EncodeToString([]byte(inner)) }
	fold := func(s string, n int, eol string) string {
		var b strings.Builder
		for len(s) > n {
			b.WriteString(s[:n] + eol)
			s = s[n:]
		}
		return b.String() + s + eol
	}
	lfHeader := "MIME-Version: 1.0\nContent-Disposition: attachment; filename=\"smime.p7m\"\nContent-Type: application/x-pkcs7-mime; name=\"smime.p7m\"\nContent-Transfer-Encoding: base64\n\n"
	for _, tc := range []struct {
		name string
		in   string
		want protocol.Code // "" for success
	}{
		// What WrapResponse makes.
		{"own output", WrapResponse(der), ""},
		// LF line ends, as a Unix client writes.
		{"lf", wrap(lfHeader + fold(b64, 76, "\n")), ""},
		// The inner base64 on one line, as NHSbuntu sent it.
		{"unwrapped inner", wrap(lfHeader + b64), ""},
		// OpenSSL's 64-character lines.
		{"64 wide", wrap(strings.ReplaceAll(lfHeader, "\n", "\r\n") + fold(b64, 64, "\r\n")), ""},
		// NHSbuntu's header: every line after the first indented, the blank
		// line made of spaces, and the body on the indented last line.
		{"nhsbuntu indentation", wrap("MIME-Version: 1.0\n        Content-Disposition: attachment; filename=\"smime.p7m\"\n        Content-Type: application/x-pkcs7-mime; name=\"smime.p7m\"\n        Content-Transfer-Encoding: base64\n        \n        " + b64), ""},
		// The outer base64 folded by an XML pretty-printer.
		{"outer folded", fold(WrapResponse(der), 64, "\n  "), ""},
		// Outer padding dropped.
		{"outer unpadded", strings.TrimRight(WrapResponse(der), "="), ""},
		// No header at all: just the base64 of the DER.
		{"no header", wrap(b64), ""},
		// The RFC 5751 content type.
		{"pkcs7-mime", wrap("Content-Type: application/pkcs7-mime; smime-type=signed-data\n\n" + b64), ""},
		// Not base64 outside.
		{"outer garbage", "<xml>not base64</xml>", protocol.CodeBadRequest},
		// Not base64 inside.
		{"inner garbage", wrap(lfHeader + "**not base64**"), protocol.CodeBadRequest},
		// Header and nothing after it.
		{"no body", wrap(lfHeader), protocol.CodeBadRequest},
		// Header without the blank line: the body would be read as a header.
		{"no blank line", wrap(strings.TrimSuffix(lfHeader, "\n") + b64), protocol.CodeBadRequest},
		// Some other MIME part.
		{"wrong content type", wrap("Content-Type: text/plain\n\n" + b64), protocol.CodeBadRequest},
		// A body encoding we do not decode.
		{"quoted printable", wrap("Content-Transfer-Encoding: quoted-printable\n\n" + b64), protocol.CodeBadRequest},
		// Nothing at all.
		{"empty", "", protocol.CodeBadRequest},
		// Bounded: refused before decoding.
		{"too large", strings.Repeat("A", MaxResponseSize+4), protocol.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnwrapResponse(tc.in)
			if tc.want != "" {
				if err == nil {
					t.Fatalf("succeeded with %d bytes, want %s", len(got), tc.want)
				}
				if c := protocol.CodeOf(err); c != tc.want {
					t.Errorf("code %s (%v), want %s", c, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, der) {
				t.Errorf("got %q, want the DER", got)
			}
		})
	}
}

func FuzzUnwrapResponse(f *testing.F) {
	f.Add(WrapResponse([]byte{0x30, 0x03, 0x02, 0x01, 0x01}))
	f.Add(base64.StdEncoding.EncodeToString([]byte("MIME-Version: 1.0\n\nMAMCAQE=")))
	f.Fuzz(func(t *testing.T, s string) {
		der, err := UnwrapResponse(s)
		if err != nil {
			if protocol.CodeOf(err) != protocol.CodeBadRequest {
				t.Fatalf("error without BAD_REQUEST: %v", err)
			}
			return
		}
		if len(der) == 0 {
			t.Fatal("success with no data")
		}
		// Whatever was accepted must survive our own wrapping.
		again, err := UnwrapResponse(WrapResponse(der))
		if err != nil || !bytes.Equal(again, der) {
			t.Fatalf("round trip of accepted data failed: %v", err)
		}
	})
}
