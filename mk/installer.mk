# SPDX-License-Identifier: MIT
# Installer area: cross-OS vet of the pure-Go packages, and `make package`.

# Pure-Go packages (no cgo) that must build and vet on every OS (the relay
# oia-host builds from them; its tests drive the card and need cgo). The
# oia command itself needs cgo (the agent drives the card), so it is
# cross-built by package-windows instead.
CROSS_VET_PKGS = ./host/agentclient/... ./host/relay/... ./host/spine/... ./installer/register/... ./installer/doctor/... ./installer/policy/... \
	./installer/pkg/... ./installer/msi/... ./installer/tools/... ./manifests/... \
	./host/config/... ./host/protocol/... ./host/nativemsg/... ./host/logging/... ./host/origin/... ./host/server/... \
	./host/endpoint/... ./host/detach/... ./host/card/pcsc/...

.PHONY: lint-cross
LINT_DEPS += lint-cross
lint-cross:
	@set -e; for os in windows darwin freebsd; do \
		echo "GOOS=$$os go vet $(CROSS_VET_PKGS)"; \
		CGO_ENABLED=0 GOOS=$$os $(GO) vet $(CROSS_VET_PKGS); \
	done

# make package: the .deb and .rpm, the Chrome zip/CRX3/updates.xml, the
# Firefox .xpi and the Authenticode-signed Windows executables, in
# build/dist/. Signing keys come from CRX_KEY, WIN_SIGN_CERT, WIN_SIGN_KEY
# (and WIN_SIGN_CA to verify); without them throw-away keys are made in
# build/throwaway-keys/ (never for a release). CRX_URL names where the CRX
# will be served, for updates.xml.
#
# The packages carry release builds of oia-host and oia (config.Release:
# OIA_SYSTEM_CONFIG ignored, only the published extension ids trusted by
# default). EXTENSION_IDS names those ids, comma-separated: the Chrome id
# of the CRX as signed (or the Web Store's) and the Firefox add-on id as
# signed by AMO. With throw-away keys it defaults to the throw-away CRX's id
# and FIREFOX_ID; a release must set it. EDGE_EXTENSION_ID (optional, one
# of EXTENSION_IDS) is the Edge Add-ons id, which the MSI's Policy feature
# installs in Edge (mkpkg reads it). docs/deployment.md explains.
DIST        := $(BUILD)/dist
WIN_BIN     := $(BUILD)/windows
RELEASE_BIN := $(BUILD)/release
THROWAWAY   := $(BUILD)/throwaway-keys
MINGW_CC    ?= x86_64-w64-mingw32-gcc
FIREFOX_ID  ?= identity-agent@openidentityagent.org
CONFIG_PKG  := github.com/openidentityagent/oia/host/config
RELEASE_LDFLAGS = -X $(CONFIG_PKG).buildKind=release -X $(CONFIG_PKG).releaseExtensions=$(EXTENSION_IDS)

.PHONY: package package-windows release-bin
package: deps-package build
	@if [ -z "$(CRX_KEY)$(WIN_SIGN_KEY)" ]; then installer/scripts/throwaway-keys.sh $(THROWAWAY); fi
	@ids="$(EXTENSION_IDS)"; \
	if [ -z "$$ids" ]; then \
		if [ -n "$(CRX_KEY)" ]; then echo "package: set EXTENSION_IDS to the published extension ids (docs/deployment.md)"; exit 1; fi; \
		ids="$$($(GO) run ./installer/tools/mkpkg -print-crx-id $(THROWAWAY)/crx-key.pem),$(FIREFOX_ID)"; \
	fi; \
	$(MAKE) --no-print-directory release-bin package-windows EXTENSION_IDS="$$ids" && \
	CRX_KEY=$(or $(CRX_KEY),$(THROWAWAY)/crx-key.pem) \
	WIN_SIGN_CERT=$(or $(WIN_SIGN_CERT),$(THROWAWAY)/win-sign.pem) \
	WIN_SIGN_KEY=$(or $(WIN_SIGN_KEY),$(THROWAWAY)/win-sign.key) \
	WIN_SIGN_CA=$(or $(WIN_SIGN_CA),$(THROWAWAY)/win-ca.pem) \
		$(GO) run ./installer/tools/mkpkg -bin $(RELEASE_BIN) -out $(DIST) -win-bin $(WIN_BIN) -extension-ids "$$ids"

# release-bin: oia-host and oia for Linux as release builds.
release-bin:
	@test -n "$(EXTENSION_IDS)" || { echo "release-bin: set EXTENSION_IDS (docs/deployment.md)"; exit 1; }
	@mkdir -p $(RELEASE_BIN)
	$(GO) build -trimpath -ldflags "$(RELEASE_LDFLAGS)" -o $(RELEASE_BIN)/ ./host/cmd/oia-host ./installer/cmd/oia

# The Windows executables, cross-built with mingw-w64 (oia-host needs cgo
# for PKCS#11), as release builds.
package-windows:
	@test -n "$(EXTENSION_IDS)" || { echo "package-windows: set EXTENSION_IDS (docs/deployment.md)"; exit 1; }
	@mkdir -p $(WIN_BIN)
	CC=$(MINGW_CC) CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
		$(GO) build -trimpath -ldflags "$(RELEASE_LDFLAGS)" -o $(WIN_BIN)/ ./host/cmd/oia-host ./installer/cmd/oia
