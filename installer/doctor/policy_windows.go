// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"errors"

	"github.com/openidentityagent/oia/installer/register"
	"golang.org/x/sys/windows/registry"
)

// regPolicyReader reads browser policy from HKLM and HKCU\<key> (HKLM wins,
// as in the browsers): string and DWORD values, and list policies stored as
// subkeys of numbered values.
type regPolicyReader struct{}

var _ PolicyReader = regPolicyReader{}

func defaultPolicyReader(o register.Options) PolicyReader {
	if o.Root != "" {
		return filePolicyReader{}
	}
	return regPolicyReader{}
}

func (regPolicyReader) Read(t register.Target) (Policy, []Finding) {
	p := Policy{Values: map[string]any{}, From: map[string]string{}}
	for _, hive := range []struct {
		k    registry.Key
		name string
	}{{registry.CURRENT_USER, `HKCU\`}, {registry.LOCAL_MACHINE, `HKLM\`}} {
		for _, key := range t.Policies {
			k, err := registry.OpenKey(hive.k, key, registry.READ)
			if err != nil {
				continue
			}
			vals := map[string]any{}
			readValues(k, vals)
			for n, v := range vals {
				p.Values[n] = v
				p.From[n] = hive.name + key
			}
			for _, list := range []string{"NativeMessagingBlocklist", "NativeMessagingAllowlist"} {
				sub, err := registry.OpenKey(k, list, registry.READ)
				if err != nil {
					continue
				}
				vals := map[string]any{}
				readValues(sub, vals)
				sub.Close()
				var items []any
				for _, v := range vals {
					items = append(items, v)
				}
				p.Values[list] = items
				p.From[list] = hive.name + key + `\` + list
			}
			k.Close()
		}
	}
	return p, nil
}

// readValues copies a key's string and DWORD values into m.
func readValues(k registry.Key, m map[string]any) {
	names, err := k.ReadValueNames(0)
	if err != nil {
		return
	}
	for _, n := range names {
		if s, _, err := k.GetStringValue(n); err == nil {
			m[n] = s
			continue
		} else if !errors.Is(err, registry.ErrUnexpectedType) {
			continue
		}
		if d, _, err := k.GetIntegerValue(n); err == nil {
			m[n] = float64(d)
		}
	}
}
