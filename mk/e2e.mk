# SPDX-License-Identifier: MIT
# End-to-end area: `make e2e` runs the browser suites against the commands
# just built. `make test` runs them too (see BROWSER_PKGS in the Makefile);
# this target is the quick way to run only them. They run one package at a
# time because the enterprise-policy scenario writes a machine-wide browser
# policy. docs/e2e.md explains the suites.

.PHONY: e2e
e2e: deps-test build
	$(TEST_ENV) $(GO) test -count=1 -timeout 10m -p 1 $(BROWSER_PKGS)
