// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/openidentityagent/oia/installer/register"
	"github.com/openidentityagent/oia/manifests"
)

// Policy is a browser's managed policy, merged from its sources: top-level
// policy names to values as JSON decodes them (lists are []any).
type Policy struct {
	Values map[string]any
	// From names the file or registry key each value came from.
	From map[string]string
}

// PolicyReader reads the managed policy of the browser of one target.
type PolicyReader interface {
	Read(t register.Target) (Policy, []Finding)
}

// maxPolicyFile bounds a policy file.
const maxPolicyFile = 1 << 20

// filePolicyReader reads Linux policy files: for the Chromium family every
// *.json in the managed directories, for Firefox the "policies" object of
// policies.json.
type filePolicyReader struct{}

var _ PolicyReader = filePolicyReader{}

func (filePolicyReader) Read(t register.Target) (Policy, []Finding) {
	p := Policy{Values: map[string]any{}, From: map[string]string{}}
	var fs []Finding
	for _, loc := range t.Policies {
		var files []string
		if t.Family == manifests.Firefox {
			files = []string{loc}
		} else {
			files, _ = filepath.Glob(filepath.Join(loc, "*.json"))
			sort.Strings(files)
		}
		for _, f := range files {
			b, err := readLimited(f, maxPolicyFile)
			if os.IsNotExist(err) {
				continue
			}
			var v map[string]any
			if err == nil {
				err = json.Unmarshal(b, &v)
			}
			if err != nil {
				fs = append(fs, Finding{Subject: f, Status: Warning,
					Detail: fmt.Sprintf("policy file is unreadable or not JSON (%v); the browser ignores it", err),
					Fix:    "fix or remove the file; 'oia policy' writes a valid one"})
				continue
			}
			if t.Family == manifests.Firefox {
				inner, _ := v["policies"].(map[string]any)
				v = inner
			}
			for k, val := range v {
				p.Values[k] = val
				p.From[k] = f
			}
		}
	}
	return p, fs
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return b, err
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// chromiumVerdict says what a Chromium-family policy does to OIA's host:
// whether it is blocked, and whether user-level manifests are ignored.
func chromiumVerdict(p Policy) (blocked, userLevelOff bool) {
	block := stringsOf(p.Values["NativeMessagingBlocklist"])
	allow := stringsOf(p.Values["NativeMessagingAllowlist"])
	blocked = (slices.Contains(block, "*") || slices.Contains(block, manifests.HostName)) &&
		!slices.Contains(allow, manifests.HostName)
	switch v := p.Values["NativeMessagingUserLevelHosts"].(type) {
	case bool:
		userLevelOff = !v
	case float64:
		userLevelOff = v == 0
	}
	return blocked, userLevelOff
}

// firefoxBlocked reports whether Firefox's ExtensionSettings block the
// add-on id (by id, or by "*" without an entry for it).
func firefoxBlocked(p Policy, id string) bool {
	es := p.Values["ExtensionSettings"]
	if s, ok := es.(string); ok { // the Windows registry holds it as JSON text
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			es = v
		}
	}
	m, _ := es.(map[string]any)
	mode := func(key string) string {
		e, _ := m[key].(map[string]any)
		s, _ := e["installation_mode"].(string)
		return s
	}
	if _, ok := m[id]; ok {
		return mode(id) == "blocked"
	}
	return mode("*") == "blocked"
}

// source names where policy key came from.
func (p Policy) source(key string) string {
	if f := p.From[key]; f != "" {
		return f
	}
	return "the policy"
}
