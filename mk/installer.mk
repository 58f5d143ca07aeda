# SPDX-License-Identifier: MIT
# Installer area: cross-OS vet of the pure-Go packages, and `make package`.

# Pure-Go packages (no cgo) that must build and vet on every OS. Packages
# that appear later are picked up when their folder exists.
CROSS_VET_PKGS = ./installer/... ./manifests/... \
	$(foreach d,host/config host/protocol host/nativemsg host/logging,$(if $(wildcard $(d)/*.go),./$(d)/...))

.PHONY: lint-cross
LINT_DEPS += lint-cross
lint-cross:
	@set -e; for os in windows darwin freebsd; do \
		echo "GOOS=$$os go vet $(CROSS_VET_PKGS)"; \
		CGO_ENABLED=0 GOOS=$$os $(GO) vet $(CROSS_VET_PKGS); \
	done
