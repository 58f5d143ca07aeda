// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package cms

import (
	"encoding/base64"
	"strings"

	"github.com/openidentityagent/oia/host/protocol"
)

// MaxResponseSize bounds the wrapped response [UnwrapResponse] accepts. A
// genuine one (a 2048-bit certificate and signature, twice base64-encoded)
// is about 3 KB; 64 KiB leaves room for a large certificate and nothing
// more.
const MaxResponseSize = 64 << 10

// lineLength is the length of the inner base64 lines: 76, as in the genuine
// capture and the RFC 2045 §6.8 maximum.
const lineLength = 76

// header is the S/MIME-style header of the inner part, with CRLF line ends.
// The genuine Identity Agent ran on Windows and MIME's canonical form
// (RFC 2045 §2.1, RFC 5322 §2.1) uses CRLF; brokers also take LF (the
// NHSbuntu client sent LF and indented lines and logged in).
const header = "MIME-Version: 1.0\r\n" +
	"Content-Disposition: attachment; filename=\"smime.p7m\"\r\n" +
	"Content-Type: application/x-pkcs7-mime; name=\"smime.p7m\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n"

// WrapResponse returns the authvalidate "response" value for a CMS DER: the
// S/MIME-style header, then base64(der) in CRLF-terminated lines of 76
// characters, and the whole of that base64-encoded again on one line
// (standard alphabet, padded), ready for an XML text node.
func WrapResponse(der []byte) string {
	inner := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	b.Grow(len(header) + len(inner) + 2*(len(inner)/lineLength+1))
	b.WriteString(header)
	for len(inner) > lineLength {
		b.WriteString(inner[:lineLength])
		b.WriteString("\r\n")
		inner = inner[lineLength:]
	}
	if inner != "" {
		b.WriteString(inner)
		b.WriteString("\r\n")
	}
	return base64.StdEncoding.EncodeToString([]byte(b.String()))
}

// UnwrapResponse returns the CMS DER inside a "response" value made by
// [WrapResponse] or by another client, as leniently as a broker reads it:
// the outer base64 may be wrapped, padded or not; the inner part may use
// LF or CRLF, indent its lines (the NHSbuntu client did), wrap its base64 at
// any width or not at all, and omit the header. Header fields other than
// Content-Type and Content-Transfer-Encoding are ignored; those two, when
// present, must say pkcs7-mime and base64.
//
// Errors carry the code BAD_REQUEST. Input over [MaxResponseSize] is refused
// before it is decoded.
func UnwrapResponse(s string) ([]byte, error) {
	if len(s) > MaxResponseSize {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cms: the response is %d bytes, more than the %d allowed", len(s), MaxResponseSize)
	}
	inner, err := decodeBase64(s)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cms: the response is not base64: %w", err)
	}
	body, err := stripHeader(string(inner))
	if err != nil {
		return nil, err
	}
	der, err := decodeBase64(body)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cms: the response body is not base64: %w", err)
	}
	if len(der) == 0 {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cms: the response holds no signed data")
	}
	return der, nil
}

// stripHeader returns what follows the header block of a MIME part, or all
// of s when s has no header. A header block is a run of "Name: value" lines
// that ends at the first blank line (after trimming spaces).
func stripHeader(s string) (string, error) {
	lines := strings.Split(s, "\n")
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if first == len(lines) || !isHeaderLine(strings.TrimSpace(lines[first])) {
		return s, nil // no header: the whole part is the body
	}
	for i := first; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			return strings.Join(lines[i+1:], "\n"), nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return "", protocol.Errorf(protocol.CodeBadRequest, "cms: the response header line %d has no colon: a blank line must separate the header from the body", i+1)
		}
		value = strings.ToLower(strings.TrimSpace(value))
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-type":
			if !strings.HasPrefix(value, "application/x-pkcs7-mime") && !strings.HasPrefix(value, "application/pkcs7-mime") {
				return "", protocol.Errorf(protocol.CodeBadRequest, "cms: the response content type is %.40q, want application/x-pkcs7-mime", value)
			}
		case "content-transfer-encoding":
			if value != "base64" {
				return "", protocol.Errorf(protocol.CodeBadRequest, "cms: the response transfer encoding is %.20q, want base64", value)
			}
		}
	}
	return "", protocol.Errorf(protocol.CodeBadRequest, "cms: the response has a header but no body")
}

// isHeaderLine reports whether line looks like "Name: value" with an RFC 5322
// field name, which base64 text never does (it has no colon).
func isHeaderLine(line string) bool {
	name, _, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// decodeBase64 decodes standard base64 ignoring all ASCII white space, with
// or without padding.
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			return -1
		}
		return r
	}, s)
	if strings.HasSuffix(clean, "=") || len(clean)%4 == 0 {
		return base64.StdEncoding.DecodeString(clean)
	}
	return base64.RawStdEncoding.DecodeString(clean)
}
