// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

// defaultExtensionIDs are the ids allowed to start the host when neither
// --extension-id nor the configuration names any: the Chrome development
// and store id and the Firefox add-on id (docs/protocol.md).
var defaultExtensionIDs = []string{
	"jojkkadnmnpkbklmagcdhigmbdlcaoha",
	"identity-agent@openidentityagent.org",
}

// extensionIDs returns the ids to write into the manifests: the flag's,
// else the configuration's.
func extensionIDs(flagIDs []string) ([]string, error) {
	if len(flagIDs) > 0 {
		return flagIDs, nil
	}
	return defaultExtensionIDs, nil
}
