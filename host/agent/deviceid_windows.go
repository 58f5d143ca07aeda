// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package agent

import "golang.org/x/sys/windows/registry"

// machineID is the MachineGuid that Windows setup writes under
// HKLM\SOFTWARE\Microsoft\Cryptography; "" when it cannot be read.
func machineID() string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return ""
	}
	defer k.Close()
	v, _, err := k.GetStringValue("MachineGuid")
	if err != nil {
		return ""
	}
	return v
}
