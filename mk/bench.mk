# SPDX-License-Identifier: MIT
# Measured speed (docs/performance.md): `make bench` builds, starts the
# virtual card and the broker simulator (and the virtual PIV card through
# pcscd and OpenSC), and prints each figure beside its reference, then the
# Go benchmarks of the host's hot paths (for benchstat:
# `make bench BENCHCOUNT=10 > new.txt`). Targets are reported, never
# enforced. The load, soak, fault and hostile-input tests (e2e/load) run in
# `make test`.

BENCHCOUNT ?= 1
BENCH_PKGS := ./host/cmd/oia-host ./host/logging

.PHONY: bench
bench: deps-test build
	$(GO) run ./e2e/bench/internal/run -bin $(abspath $(BIN)) -lib $(abspath $(BUILD)/lib)
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) $(BENCH_PKGS)
