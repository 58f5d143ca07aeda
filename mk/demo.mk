# SPDX-License-Identifier: MIT
# make demo: a smartcard login that anyone can watch work (docs/e2e.md,
# "Demo"). With a display it opens the browser for a person; without one
# (or with DEMO_HEADLESS=1) it drives the login headless, prints each step
# and saves screenshots into build/demo/<time>/. BROWSER=firefox for
# Firefox ESR; Chromium by default.

.PHONY: demo
demo: build
	$(GO) run ./e2e/demo $(DEMO_FLAGS)
