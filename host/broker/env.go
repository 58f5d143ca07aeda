// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"net/url"

	"github.com/openidentityagent/oia/host/spine"
)

// Environments is [spine.Environments]: the broker environments by name.
var Environments = spine.Environments

// ResolveBaseURL is [spine.ResolveBaseURL].
func ResolveBaseURL(environment, explicitURL string) (*url.URL, error) {
	return spine.ResolveBaseURL(environment, explicitURL)
}
