# SPDX-License-Identifier: MIT
# The WebExtension and the page library (extension/, docs/extension.md).
#
#   make extension        build/chrome/ + build/oia-chrome.zip,
#                         build/firefox/ + build/oia-firefox.xpi (unsigned),
#                         extension/dist/page/oia.js + oia.d.ts
#   make test-extension   the extension's unit tests (node --test)
#   make lint-extension   eslint, tsc --noEmit, web-ext lint

EXT_DIR     := extension
EXT_STAMP   := $(EXT_DIR)/node_modules/.oia-npm-ci
EXT_SOURCES := $(shell find $(EXT_DIR)/src $(EXT_DIR)/static $(EXT_DIR)/scripts -type f 2>/dev/null) VERSION
EXT_OUT     := $(BUILD)/chrome/manifest.json $(BUILD)/firefox/manifest.json $(BUILD)/oia-chrome.zip \
               $(BUILD)/oia-firefox.xpi $(EXT_DIR)/dist/page/oia.js $(EXT_DIR)/dist/page/oia.d.ts

.PHONY: extension test-extension lint-extension

# npm ci only when the lockfile changed (it wipes node_modules first).
$(EXT_STAMP): $(EXT_DIR)/package-lock.json $(EXT_DIR)/package.json
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("extension: node >= 20.19 is needed, found "+process.version); process.exit(1) }'
	cd $(EXT_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(EXT_OUT) &: $(EXT_STAMP) $(EXT_SOURCES)
	cd $(EXT_DIR) && node scripts/build.mjs build

extension: $(EXT_OUT)

test-extension: $(EXT_STAMP)
	cd $(EXT_DIR) && node scripts/build.mjs test

lint-extension: extension
	cd $(EXT_DIR) && node scripts/build.mjs lint

BUILD_DEPS += extension
TEST_DEPS  += test-extension
LINT_DEPS  += lint-extension
