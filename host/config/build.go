// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package config

import "strings"

// Release builds are told so at link time (make release-bin, which make
// package uses):
//
//	-X github.com/openidentityagent/oia/host/config.buildKind=release
//	-X github.com/openidentityagent/oia/host/config.releaseExtensions=<id>,<id>
//
// Every other build (go build, go test, make build) is a development build.
var (
	buildKind         = "development"
	releaseExtensions = ""
)

// Release reports whether this is a release build. A release build ignores
// OIA_SYSTEM_CONFIG, and trusts by default only the extension ids it was
// built with, never the development id.
func Release() bool { return buildKind == "release" }

// BuiltInExtensions returns the extension ids trusted when no file names
// any: the published ids a release build was linked with, or, in a
// development build, the development Chrome id and the Firefox add-on id.
func BuiltInExtensions() []string {
	if !Release() {
		return []string{ChromeDevExtensionID, FirefoxExtensionID}
	}
	var ids []string
	for _, id := range strings.Split(releaseExtensions, ",") {
		if id = strings.TrimSpace(id); validExtensionID(id) {
			ids = append(ids, id)
		}
	}
	return ids
}
