# SPDX-License-Identifier: MIT
# End-to-end area: `make e2e` runs the browser suites (e2e/...) against the
# commands just built. `make test` runs them too, as part of ./...; this
# target is the quick way to run only them. docs/e2e.md explains the suites.

.PHONY: e2e
e2e: build
	OIA_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 10m ./e2e/...
