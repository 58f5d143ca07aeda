// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoKey is returned by [Prefix.RegQuery] when the key does not exist.
var ErrNoKey = errors.New("wine: registry key not found")

// RegValue is one value of a registry key.
type RegValue struct {
	// Type is the value's type as reg.exe names it, e.g. REG_SZ.
	Type string
	// Data is the value as reg.exe prints it.
	Data string
}

// RegKey is a registry key as `reg query KEY` shows it.
type RegKey struct {
	// Values by name; the default value is "".
	Values map[string]RegValue
	// Subkeys are the full names of the key's direct subkeys.
	Subkeys []string
}

// RegQuery reads key (e.g. `HKCU\Software\Mozilla\NativeMessagingHosts`)
// with Wine's reg.exe. It returns [ErrNoKey] when the key does not exist.
func (p *Prefix) RegQuery(ctx context.Context, key string) (RegKey, error) {
	r, err := p.Run(ctx, "reg", RunOptions{Args: []string{"query", key}})
	if err != nil {
		return RegKey{}, err
	}
	if r.ExitCode != 0 {
		if strings.Contains(r.Stderr+r.Stdout, "Unable to find") {
			return RegKey{}, fmt.Errorf("%w: %s", ErrNoKey, key)
		}
		return RegKey{}, fmt.Errorf("wine: reg query %s: exit %d: %s%s", key, r.ExitCode, r.Stdout, r.Stderr)
	}
	return parseRegQuery(key, r.Stdout), nil
}

// parseRegQuery reads reg.exe's listing: the key's full name, its values
// indented by four spaces (name, type and data separated by four spaces),
// then its subkeys' full names.
func parseRegQuery(key, out string) RegKey {
	k := RegKey{Values: map[string]RegValue{}}
	header := true
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "    "):
			parts := strings.SplitN(strings.TrimPrefix(line, "    "), "    ", 3)
			if len(parts) < 2 {
				continue
			}
			name := parts[0]
			if name == "(Default)" {
				name = ""
			}
			v := RegValue{Type: parts[1]}
			if len(parts) == 3 {
				v.Data = parts[2]
			}
			k.Values[name] = v
		case header && strings.EqualFold(strings.TrimSpace(line), expandHive(key)):
			header = false
		default:
			k.Subkeys = append(k.Subkeys, strings.TrimSpace(line))
		}
	}
	return k
}

// expandHive spells key's hive as reg.exe prints it.
func expandHive(key string) string {
	hive, rest, _ := strings.Cut(key, `\`)
	long := map[string]string{"HKCU": "HKEY_CURRENT_USER", "HKLM": "HKEY_LOCAL_MACHINE", "HKCR": "HKEY_CLASSES_ROOT", "HKU": "HKEY_USERS"}[strings.ToUpper(hive)]
	if long == "" {
		long = hive
	}
	if rest == "" {
		return long
	}
	return long + `\` + rest
}

// RegAdd sets value name ("" for the default value) of key to data, of
// type typ (REG_SZ, REG_DWORD, ...), creating the key.
func (p *Prefix) RegAdd(ctx context.Context, key, name, typ, data string) error {
	args := []string{"add", key}
	if name == "" {
		args = append(args, "/ve")
	} else {
		args = append(args, "/v", name)
	}
	args = append(args, "/t", typ, "/d", data, "/f")
	return p.reg(ctx, args)
}

// RegDelete deletes key and everything under it.
func (p *Prefix) RegDelete(ctx context.Context, key string) error {
	return p.reg(ctx, []string{"delete", key, "/f"})
}

func (p *Prefix) reg(ctx context.Context, args []string) error {
	r, err := p.Run(ctx, "reg", RunOptions{Args: args})
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("wine: reg %s: exit %d: %s%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
	}
	return nil
}
