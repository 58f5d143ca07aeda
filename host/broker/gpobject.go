// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxBodySize bounds every broker answer the client reads. The largest real
// one, an authvalidate answer listing 40 roles, is about 8 KiB.
const MaxBodySize = 256 << 10

// maxParams bounds the gpPARAM elements of one document.
const maxParams = 2048

// Param is one <gpPARAM> element of a broker document.
type Param struct {
	// Name is the name attribute.
	Name string
	// Attrs holds the element's other attributes (id, orgcode, encoding),
	// entity-decoded.
	Attrs map[string]string
	// Value is the element's text, entity-decoded; a bare & is kept as is.
	Value string
}

// Document is a parsed gpOBJECT document: the parameters in the order the
// broker sent them. The broker's answers are not well-formed XML (role names
// hold bare &), so the document is read with a tolerant scanner, never
// encoding/xml.
type Document struct {
	Params []Param
}

// Get returns the value of the first parameter called name, and whether it
// was present.
func (d *Document) Get(name string) (string, bool) {
	for _, p := range d.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Names returns the parameter names in order, for logs (values may be
// secret).
func (d *Document) Names() []string {
	names := make([]string, len(d.Params))
	for i, p := range d.Params {
		names[i] = p.Name
	}
	return names
}

var (
	reObject = regexp.MustCompile(`(?s)<gpOBJECT\b[^>]*>(.*?)</gpOBJECT\s*>`)
	reParam  = regexp.MustCompile(`(?s)<gpPARAM\b([^>]*?)(?:/>|>(.*?)</gpPARAM\s*>)`)
	reAttr   = regexp.MustCompile(`([A-Za-z_][-A-Za-z0-9_.:]*)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// errNoObject is returned by ParseDocument for a body without a complete
// gpOBJECT element: garbage, an HTML error page, or a truncated answer.
var errNoObject = errors.New("the answer is not a gpOBJECT document (garbage, an error page, or cut short)")

// ParseDocument reads a broker answer. It needs a complete
// <gpOBJECT>…</gpOBJECT> element, so a truncated answer fails; inside it, it
// keeps every <gpPARAM> with a name, in order, whatever its name, and skips
// anything else. Values are entity-decoded (&amp; &lt; &gt; &quot; &apos;
// and numeric references); an & that starts no known entity is kept.
// Bodies over [MaxBodySize] or with more than 2048 parameters are refused.
func ParseDocument(body []byte) (*Document, error) {
	if len(body) > MaxBodySize {
		return nil, errTooLarge
	}
	if !utf8.Valid(body) {
		// The genuine broker answers UTF-8 (its XML declaration says so).
		// Stray bytes are replaced rather than refused: a name is still
		// readable with one odd character.
		body = []byte(strings.ToValidUTF8(string(body), "\uFFFD"))
	}
	m := reObject.FindSubmatch(body)
	if m == nil {
		return nil, errNoObject
	}
	inner := m[1]
	doc := &Document{}
	for _, pm := range reParam.FindAllSubmatch(inner, maxParams+1) {
		if len(doc.Params) == maxParams {
			return nil, errors.New("the answer has more than 2048 parameters")
		}
		attrs := map[string]string{}
		for _, am := range reAttr.FindAllSubmatch(pm[1], -1) {
			v := am[2]
			if v == nil {
				v = am[3]
			}
			attrs[string(am[1])] = decodeEntities(string(v))
		}
		name, ok := attrs["name"]
		if !ok || name == "" {
			continue // not a parameter anyone can ask for
		}
		delete(attrs, "name")
		doc.Params = append(doc.Params, Param{Name: name, Attrs: attrs, Value: decodeEntities(string(pm[2]))})
	}
	return doc, nil
}

var errTooLarge = errors.New("the answer is larger than 256 KiB")

var namedEntities = map[string]string{"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'"}

// decodeEntities replaces XML entity references with their characters and
// keeps every & that does not start one.
func decodeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexByte(s, ';')
		if end > 1 && end <= 10 {
			if r, ok := entity(s[1:end]); ok {
				b.WriteString(r)
				s = s[end+1:]
				continue
			}
		}
		b.WriteByte('&')
		s = s[1:]
	}
}

func entity(name string) (string, bool) {
	if r, ok := namedEntities[name]; ok {
		return r, true
	}
	if len(name) < 2 || name[0] != '#' {
		return "", false
	}
	var n uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		n, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || n == 0 || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
		return "", false
	}
	return string(rune(n)), true
}

// escapeText escapes s for an XML text node or a double-quoted attribute.
func escapeText(s string) string {
	return textEscaper.Replace(s)
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// requestParam is one parameter of a request document.
type requestParam struct {
	name, value string
	base64      bool // adds encoding="base64", as the Identity Agent does for response
}

// buildRequest writes a request document exactly as the genuine Identity
// Agent does: XML declaration, DOCTYPE, one gpPARAM per line.
func buildRequest(params []requestParam) []byte {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE USER SYSTEM \"gpOBJECT.DTD\">\n<gpOBJECT>\n")
	for _, p := range params {
		b.WriteString(`<gpPARAM name="`)
		b.WriteString(escapeText(p.name))
		b.WriteString(`"`)
		if p.base64 {
			b.WriteString(` encoding="base64"`)
		}
		b.WriteString(">")
		b.WriteString(escapeText(p.value))
		b.WriteString("</gpPARAM>\n")
	}
	b.WriteString("</gpOBJECT>\n")
	return []byte(b.String())
}
