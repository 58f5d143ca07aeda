// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// Redacted replaces every secret the scrubbing finds.
const Redacted = "[REDACTED]"

const (
	// maxValueLen bounds each string in an entry, and the message.
	maxValueLen = 16 << 10
	// maxDepth bounds how deep nested maps and slices are scrubbed.
	maxDepth = 16
	// maxItems bounds how many elements of a slice are kept.
	maxItems = 256
)

// secretWords: a field, a key=value key, a JSON key or a gpPARAM name that
// contains one of these holds a secret. sso_ticket contains ticket.
var secretWords = []string{"pin", "passcode", "password", "ticket", "challenge", "signature", "response", "cms", "token"}

// isSecretName reports whether name contains a secret word, in any case.
func isSecretName(name string) bool { return hasSecretWord(strings.ToLower(name)) }

// rule is one scrubbing regexp, run only when its cheap precondition on
// the text (and on the text in lower case) holds: most log lines hold no
// secret, and the checks cost far less than the regexps.
type rule struct {
	re   *regexp.Regexp
	repl string
	may  func(s, lower string) bool
}

// The scrubbing rules, applied in order. Each keeps the key or tag it
// matched and replaces only the value, so the log still says what was there.
var rules = func() []rule {
	words := strings.Join(secretWords, "|")
	b64 := `(?:[A-Za-z0-9+/]|%2[BbFf])`
	pad := `(?:=|%3[Dd]){0,2}`
	value := `(?:"[^"]*"|'[^']*'|[^\s&,;"'<>]+)`
	return []rule{
		// <gpPARAM name="challenge">…</gpPARAM>, name="response"
		// encoding="base64", name="signature", name="sso_ticket".
		{regexp.MustCompile(`(?i)(<gpPARAM\b[^>]*?\bname\s*=\s*["']?[\w.-]*(?:` + words + `)[\w.-]*["']?[^>]*>)[^<]+`), "${1}" + Redacted,
			func(_, l string) bool { return strings.Contains(l, "<gpparam") && hasSecretWord(l) }},
		// JSON: "pin":"1234", "ticket": "AQIC…", "pin": 1234.
		{regexp.MustCompile(`(?i)("[^"\\]*(?:` + words + `)[^"\\]*"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[-+0-9.eE]+|true|false|null)`), `${1}"` + Redacted + `"`,
			func(s, l string) bool {
				return strings.Contains(s, `"`) && strings.Contains(s, ":") && hasSecretWord(l)
			}},
		// JSON inside a JSON string: \"pin\":\"1234\".
		{regexp.MustCompile(`(?i)(\\"[^"\\]*(?:` + words + `)[^"\\]*\\"\s*:\s*)(?:\\"(?:[^"\\]|\\[^"])*\\"|[-+0-9.eE]+|true|false|null)`), `${1}\"` + Redacted + `\"`,
			func(s, l string) bool { return strings.Contains(s, `\"`) && hasSecretWord(l) }},
		// key=value text, form bodies and query strings: pin=1234,
		// token=AQIC…&, user_passcode="x y".
		{regexp.MustCompile(`(?i)\b([\w.-]*(?:` + words + `)[\w.-]*\s*=\s*)` + value), "${1}" + Redacted,
			func(s, l string) bool { return strings.Contains(s, "=") && hasSecretWord(l) }},
		// key: value for the passcode words: "pin: 1234".
		{regexp.MustCompile(`(?i)\b((?:pin|passcode|password)\s*:\s*)` + value), "${1}" + Redacted,
			func(s, l string) bool {
				return strings.Contains(s, ":") && (strings.Contains(l, "pin") || strings.Contains(l, "pass"))
			}},
		// OpenSSO/OpenAM SSOToken IDs, plain or URL-encoded:
		// AQIC5wM2LY4S…=@AAJTSQACMDE=#.
		{regexp.MustCompile(`AQIC[A-Za-z0-9+/=*_.%-]+(?:@[A-Za-z0-9+/=%]+#?)?`), Redacted,
			func(s, _ string) bool { return strings.Contains(s, "AQIC") }},
		// Base64 runs of 40 characters or more (challenges, signatures,
		// CMS, certificates), plain or URL-encoded, with the lines that
		// continue them.
		{regexp.MustCompile(b64 + `{40,}` + pad + `(?:(?:\r?\n|\\r\\n|\\n)` + b64 + `+` + pad + `)*`), Redacted,
			func(s, _ string) bool { return hasBase64Run(s, 40) }},
	}
}()

// hasSecretWord reports whether lower holds a secret word.
func hasSecretWord(lower string) bool {
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// hasBase64Run reports whether s has n base64 characters in a row,
// counting %2B, %2F and %3D as characters too.
func hasBase64Run(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '%':
			run++
			if run >= n {
				return true
			}
		default:
			run = 0
		}
	}
	return false
}

// Redact returns s with passcodes, SSO tickets, challenges, signatures and
// CMS blobs replaced by [Redacted]: gpPARAM elements, JSON members and
// key=value pairs whose name holds a secret word, OpenSSO tickets, and
// base64 runs of 40 characters or more. It is what the logger applies to
// every message and string field; use it for anything that must be printed
// elsewhere. It is safe for concurrent use.
func Redact(s string) string {
	lower := strings.ToLower(s)
	for _, r := range rules {
		if r.may(s, lower) {
			s = r.re.ReplaceAllString(s, r.repl)
			lower = strings.ToLower(s)
		}
	}
	return s
}

// redactHook scrubs every entry before it is formatted. It never returns an
// error: logrus would skip the hooks after it.
type redactHook struct{}

var _ logrus.Hook = redactHook{}

func (redactHook) Levels() []logrus.Level { return logrus.AllLevels }

func (redactHook) Fire(e *logrus.Entry) error {
	defer func() {
		// Unreachable unless a scrubbing rule is wrong; never let the
		// entry through unscrubbed.
		if recover() != nil {
			e.Data = logrus.Fields{}
			e.Message = Redacted
		}
	}()
	// The entry's Data is the logger's own copy (logrus clones it before
	// the hooks), so it can be changed in place; nested values are copied.
	for k, v := range e.Data {
		e.Data[k] = scrubField(k, v, 0)
	}
	e.Message = bound(Redact(e.Message))
	return nil
}

// scrubField returns v, named name, safe to log.
func scrubField(name string, v any, depth int) (out any) {
	if isSecretName(name) {
		return Redacted
	}
	defer func() {
		// A caller's Error, String or MarshalJSON that panics.
		if recover() != nil {
			out = fmt.Sprintf("[unloggable %T]", v)
		}
	}()
	return scrubValue(v, depth)
}

func scrubValue(v any, depth int) any {
	if depth > maxDepth {
		return "[nested too deep]"
	}
	switch v := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, json.Number, time.Time, time.Duration, logrus.Level:
		return v
	case string:
		return bound(Redact(v))
	case error:
		return bound(Redact(v.Error()))
	case []byte:
		return Redacted
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = scrubField(k, x, depth+1)
		}
		return m
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = scrubField(k, x, depth+1)
		}
		return m
	case []any:
		return scrubSlice(v, depth)
	case []string:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = x
		}
		return scrubSlice(l, depth)
	case fmt.Stringer:
		return bound(Redact(v.String()))
	}
	// Structs, named types and the rest: scrub their JSON form, so that a
	// struct's Passcode field is caught by its name.
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("[unloggable %T]", v)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return fmt.Sprintf("[unloggable %T]", v)
	}
	return scrubValue(x, depth)
}

func scrubSlice(v []any, depth int) []any {
	n := min(len(v), maxItems)
	l := make([]any, n, n+1)
	for i := range n {
		l[i] = scrubValue(v[i], depth+1)
	}
	if len(v) > n {
		l = append(l, "["+strconv.Itoa(len(v)-n)+" more]")
	}
	return l
}

// bound cuts s to maxValueLen bytes, on a character boundary.
func bound(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	n := maxValueLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…[" + strconv.Itoa(len(s)-n) + " bytes cut]"
}
