# SPDX-License-Identifier: MIT
# Installer area: cross-OS vet of the pure-Go packages, and `make package`.

# Pure-Go packages (no cgo) that must build and vet on every OS. Packages
# that appear later are picked up when their folder exists. The oia command
# itself needs cgo (oia login drives the card), so it is cross-built by
# package-windows instead.
CROSS_VET_PKGS = ./installer/register/... ./installer/doctor/... ./installer/policy/... \
	./installer/pkg/... ./installer/tools/... ./manifests/... \
	$(foreach d,host/config host/protocol host/nativemsg host/logging host/origin host/server host/endpoint host/detach,$(if $(wildcard $(d)/*.go),./$(d)/...))

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
DIST        := $(BUILD)/dist
WIN_BIN     := $(BUILD)/windows
THROWAWAY   := $(BUILD)/throwaway-keys
MINGW_CC    ?= x86_64-w64-mingw32-gcc

.PHONY: package package-windows
package: build package-windows
	@if [ -z "$(CRX_KEY)$(WIN_SIGN_KEY)" ]; then installer/scripts/throwaway-keys.sh $(THROWAWAY); fi
	CRX_KEY=$(or $(CRX_KEY),$(THROWAWAY)/crx-key.pem) \
	WIN_SIGN_CERT=$(or $(WIN_SIGN_CERT),$(THROWAWAY)/win-sign.pem) \
	WIN_SIGN_KEY=$(or $(WIN_SIGN_KEY),$(THROWAWAY)/win-sign.key) \
	WIN_SIGN_CA=$(or $(WIN_SIGN_CA),$(THROWAWAY)/win-ca.pem) \
		$(GO) run ./installer/tools/mkpkg -bin $(BIN) -out $(DIST) -win-bin $(WIN_BIN)

# The Windows executables, cross-built with mingw-w64 (oia-host needs cgo
# for PKCS#11).
package-windows:
	@mkdir -p $(WIN_BIN)
	CC=$(MINGW_CC) CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
		$(GO) build -trimpath -o $(WIN_BIN)/ ./host/cmd/oia-host ./installer/cmd/oia
