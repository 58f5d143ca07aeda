# SPDX-License-Identifier: MIT
# make demo: a smartcard login that anyone can watch work (docs/e2e.md,
# "Demo"). With a display it opens the browser for a person; without one
# (or with DEMO_HEADLESS=1) it drives the login headless, prints each step
# and saves screenshots into build/demo/<time>/. BROWSER=firefox for
# Firefox ESR; Chromium by default. DEMO_FLAGS passes flags (-help).
#
# The demo is built and run directly, not through `go run`: go run does not
# pass SIGTERM on, which would leave the browser running when make is
# stopped.

DEMO_BIN := $(BUILD)/tools/oia-demo

.PHONY: demo
demo: deps-demo build
	$(GO) build -o $(DEMO_BIN) ./e2e/demo
	$(DEMO_BIN) $(DEMO_FLAGS)
