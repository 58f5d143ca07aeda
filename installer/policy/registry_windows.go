// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package policy

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/windows/registry"
)

// SetManaged writes the values of mk under HKEY_LOCAL_MACHINE (64-bit
// view, where 64-bit browsers read policy). A list's key is emptied first,
// so a shorter list leaves no stale entries; other values under the
// extension's key are kept.
func SetManaged(mk []ManagedKey) error {
	for _, m := range mk {
		for _, k := range listKeys(m.Values) {
			if err := deleteTree(k); err != nil {
				return fmt.Errorf("HKLM\\%s: %v", k, err)
			}
		}
		for _, v := range m.Values {
			if err := setValue(v); err != nil {
				return fmt.Errorf("HKLM\\%s %s: %v; run as administrator", v.Key, v.Name, err)
			}
		}
	}
	return nil
}

// RemoveManaged deletes each extension's key of mk with everything under
// it, and nothing else.
func RemoveManaged(mk []ManagedKey) error {
	for _, m := range mk {
		if err := deleteTree(m.Key); err != nil {
			return fmt.Errorf("HKLM\\%s: %v; run as administrator", m.Key, err)
		}
	}
	return nil
}

func setValue(v RegValue) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, v.Key, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return err
	}
	defer k.Close()
	if d, ok := v.Value.(uint32); ok {
		return k.SetDWordValue(v.Name, d)
	}
	return k.SetStringValue(v.Name, fmt.Sprint(v.Value))
}

// deleteTree deletes key and its subkeys; a missing key is no error.
func deleteTree(key string) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	subs, err := k.ReadSubKeyNames(-1)
	k.Close()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if err := deleteTree(key + `\` + s); err != nil {
			return err
		}
	}
	err = registry.DeleteKey(registry.LOCAL_MACHINE, key)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	return err
}

// listKeys returns the keys of vs that hold a list (values "1", "2", ...).
func listKeys(vs []RegValue) []string {
	var ks []string
	for _, v := range vs {
		if v.Name == "1" && !slices.Contains(ks, v.Key) {
			ks = append(ks, v.Key)
		}
	}
	return ks
}
