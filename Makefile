# Two commands that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the example plugin (examples/shinsa-plugin-example/README.md): installed beside shinsa so
# that its tests run with the suite's (pyproject.toml, testpaths) and scans run its checks
EXAMPLE_PLUGIN := examples/shinsa-plugin-example
# `make test` runs three pytest processes side by side: the layers against real daemons and
# programs, the operation service's layer (with the dashboard's browser test, which shares
# its 127.0.96.0/24 block), and the rest of the suite. Their addresses are their own
# (CONTRIBUTING.md, "Test layers"), so no two bind or probe the same address; within each,
# tests run one at a time as before (most of them wait on timers and sockets, not the CPU).
# (pytest-xdist's loadgroup cannot keep a group on one worker with pytest 9: the group
# suffix never reaches the node IDs.)
DAEMON_LAYERS  := tests/corpus tests/interop
DAEMON_LOG     := .pytest-daemons.log
DAEMON_TMP     := /tmp/shinsa-daemon-tests
SERVICE_LAYERS := tests/service tests/browser/test_dashboard_browser.py
SERVICE_LOG    := .pytest-service.log
SERVICE_TMP    := /tmp/shinsa-service-tests

.PHONY: demo test check lint daemons bench clean man

$(STAMP): pyproject.toml $(EXAMPLE_PLUGIN)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,lab,service]'
	$(BIN)/pip install --quiet -e $(EXAMPLE_PLUGIN)
	touch $(STAMP)

## start the simulated lab, scan it with the default profile, write the report
demo: $(STAMP)
	$(BIN)/shinsa demo --out shinsa-out/demo

## the interop tests need real daemons from Debian: installed here when we are root
daemons:
	@bash .ci/install-daemons.sh --check 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then bash .ci/install-daemons.sh; \
	  else echo "interop tests need Debian daemons: run 'sudo bash .ci/install-daemons.sh'"; exit 1; fi; }

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/shinsa validate

## set up and pass the whole test suite (lint, types, profile validation, pytest)
test: $(STAMP) daemons lint
	@rm -f $(DAEMON_LOG) $(SERVICE_LOG)
	@echo "$(DAEMON_LAYERS) and $(SERVICE_LAYERS): beside the rest, their reports follow it"
	@$(BIN)/pytest -q -p no:cacheprovider --durations=15 --basetemp=$(DAEMON_TMP) \
	    $(DAEMON_LAYERS) > $(DAEMON_LOG) 2>&1 & daemons=$$!; \
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 --basetemp=$(SERVICE_TMP) \
	    $(SERVICE_LAYERS) > $(SERVICE_LOG) 2>&1 & service=$$!; \
	$(BIN)/pytest -q --durations=15 $(addprefix --ignore=,$(DAEMON_LAYERS) $(SERVICE_LAYERS)); \
	rest=$$?; \
	wait $$daemons; status=$$?; wait $$service; service_status=$$?; \
	echo "--- $(DAEMON_LAYERS)"; cat $(DAEMON_LOG); \
	echo "--- $(SERVICE_LAYERS)"; cat $(SERVICE_LOG); \
	test $$rest -eq 0 && test $$status -eq 0 && test $$service_status -eq 0

## the inner loop: lint, types and the unit tests (no daemons, no lab, no browser)
check: $(STAMP) lint
	$(BIN)/pytest -q tests/unit

## the manual page, written from the parser (scanner/cli/manpage.py): man -l build/shinsa.1
man: $(STAMP)
	@mkdir -p build
	$(BIN)/python -m scanner.cli.manpage > build/shinsa.1

bench: $(STAMP)
	$(BIN)/python bench/discovery/run.py

clean:
	rm -rf $(VENV) shinsa-out .shinsa .mypy_cache .ruff_cache .pytest_cache
