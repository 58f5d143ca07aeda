// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package register

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// winRegistry is the real registry. It uses the 64-bit view: Chrome, Edge
// and Firefox read both views (the 32-bit one first), so one key in the
// 64-bit view is found by all (docs/references.md, "Native messaging:
// Windows registry").
type winRegistry struct{}

var _ Registry = winRegistry{}

func defaultRegistry() Registry { return winRegistry{} }

func hive(system bool) registry.Key {
	if system {
		return registry.LOCAL_MACHINE
	}
	return registry.CURRENT_USER
}

func (winRegistry) Get(system bool, key string) (string, bool, error) {
	k, err := registry.OpenKey(hive(system), key, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer k.Close()
	v, _, err := k.GetStringValue("")
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (winRegistry) Set(system bool, key, value string) error {
	k, _, err := registry.CreateKey(hive(system), key, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return err
	}
	defer k.Close()
	return k.SetStringValue("", value)
}

func (winRegistry) Delete(system bool, key string) error {
	err := registry.DeleteKey(hive(system), key)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	return err
}
