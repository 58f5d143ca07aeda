# SPDX-License-Identifier: MIT
# Open Identity Agent. `make help` lists the targets.

SHELL      := /bin/bash
GO         ?= go
VERSION    := $(shell cat VERSION)
BUILD      := build
BIN        := $(BUILD)/bin
FUZZTIME   ?= 30s
GOFLAGS    ?=
export CGO_ENABLED := 1

# Pinned tools, run through `go run` so that nothing is installed by hand.
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The commands the project ships or tests with; each is ./<dir>/cmd/<name>.
COMMANDS = $(patsubst %/,%,$(dir $(wildcard host/cmd/*/main.go installer/cmd/*/main.go e2e/cmd/*/main.go)))

# Area fragments (mk/*.mk) append to these: commands, prerequisites of
# build, test and lint, and extra packages to lint.
BUILD_DEPS :=
TEST_DEPS  :=
LINT_DEPS  :=

.PHONY: all help deps deps-test deps-demo deps-package deps-docs build test test-go lint fuzz clean
all: build

help:
	@echo "make demo    log in with a virtual smartcard in a real browser"
	@echo "make test    install what is missing, build, run every test"
	@echo "make build   build the commands into $(BIN)/"
	@echo "make lint    go vet, staticcheck, cross-OS vet, extension lint"
	@echo "make fuzz    run every fuzz target for FUZZTIME (default 30s)"
	@echo "make e2e     only the end-to-end tests in Chromium and Firefox ESR"
	@echo "make bench   the speed and memory figures beside their references"
	@echo "make docs    the state-machine picture from the code"
	@echo "make package every installable artefact into $(BUILD)/dist/"
	@echo "make clean   remove $(BUILD)/"

include $(sort $(wildcard mk/*.mk))

# deps installs what building needs (the toolchain); deps-test and
# deps-demo add what the tests and the demo drive (cards, browsers, mingw).
deps:
	@scripts/deps.sh build
	@$(GO) mod download

deps-test deps-demo deps-package deps-docs:
	@scripts/deps.sh $(@:deps-%=%)

build: deps $(BUILD_DEPS)
	@mkdir -p $(BIN)
	$(if $(COMMANDS),$(GO) build -trimpath -o $(BIN)/ $(addprefix ./,$(COMMANDS)))

# test runs every test: first the linters (a finding blocks a landing, as a
# failed test does), then what other areas add (extension tests), then the
# Go tests with the race detector. It ends with the go test summary.
test: deps-test build lint $(TEST_DEPS) test-go

# The packages that start real browsers run one at a time, after the rest:
# the enterprise-policy scenario writes a machine-wide browser policy for a
# few seconds, which any other browser running then would also obey.
BROWSER_PKGS := ./e2e ./e2e/browser ./e2e/demo
TEST_ENV     := OIA_BIN=$(abspath $(BIN)) OIA_LIB=$(abspath $(BUILD)/lib) OIA_WINDOWS_BUILD=$(abspath $(BUILD))

test-go:
	$(TEST_ENV) $(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v -E '/e2e(/browser|/demo)?$$')
	$(TEST_ENV) $(GO) test -race -count=1 -timeout 20m -p 1 $(BROWSER_PKGS)

lint: deps $(LINT_DEPS)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@# Comments and documents cite docs/references.md, not research notes
	@# outside the repository. The brackets keep this line from matching itself.
	@bad=$$(git grep -n -E 'nhs-broker-protoco[l]|e2e-recipe[s]|windows-and-card-stac[k]|(platfor[m]|peer[s]|styl[e])[.]md|shared/[r]eferenc[e]'); \
		test -z "$$bad" || { echo "$$bad"; echo "cite docs/references.md (by section title) instead of notes outside the repository"; exit 1; }
	@# The browser's relay holds no session: it must not link the card, the
	@# broker, the signer or the login machine (docs/architecture.md).
	@bad=$$($(GO) list -deps ./host/cmd/oia-host | grep -E '/oia/host/(login|card|broker|cms)$$'); \
		test -z "$$bad" || { echo "oia-host links $$bad: the relay must hold no session"; exit 1; }

# fuzz runs each Fuzz target for FUZZTIME; the seed corpora in testdata/ run
# in every `go test` anyway. `go test -list` names the targets, package by
# package, so a new one is fuzzed without being listed here.
fuzz: deps
	@set -eo pipefail; $(GO) test -run='^$$' -list='^Fuzz' ./... | \
		awk '/^Fuzz/ { t[n++] = $$1 } /^ok / { for (i = 0; i < n; i++) print $$2, t[i] } /^(ok|FAIL|\?) / { n = 0 }' | \
		while read -r pkg t; do \
			echo "fuzz $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done

clean:
	rm -rf $(BUILD)
