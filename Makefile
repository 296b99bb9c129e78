# Two commands that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the example plugin (examples/shinsa-plugin-example/README.md): installed beside shinsa so
# that its tests run with the suite's (pyproject.toml, testpaths) and scans run its checks
EXAMPLE_PLUGIN := examples/shinsa-plugin-example
# `make test` runs five pytest processes side by side, each on addresses of its own
# (CONTRIBUTING.md, "Test layers"), so no two bind or probe the same address and port:
#  - daemons: the layers against real daemons and programs, one test at a time;
#  - service: the operation service's layer, with the dashboard's browser test (which shares
#    its 127.0.96.0/24 block), one test at a time;
#  - sites: the sites' layers (Celery workers, Redis, network namespaces), one test at a
#    time; only those of its folders that hold test_*.py files (none: no process);
#  - unit: tests/unit, one test at a time. It is mostly CPU (the machine has two cores and
#    the others run beside it): xdist would finish it sooner, but it is not the longest
#    process, and its second worker would only take CPU from the timer-bound tests beside it;
#  - the rest (tests/integration, tests/lab, the other browser tests, the example plugin's
#    tests) on two pytest-xdist workers, in the foreground: the longest process, and most of
#    it waits on timers and sockets. Each worker has its own lab /24 (gwN: 127.0.2N.0/24,
#    lab/addresses.py), and --dist loadfile keeps a file on one worker: the files with fixed
#    addresses of their own (127.0.74-80.x) never run two of their tests at once.
# Each process has its own --basetemp: pytest's default one is pruned by whichever run
# starts next, another process's folders included.
# (pytest-xdist's loadgroup cannot keep a group on one worker with pytest 9: the group
# suffix never reaches the node IDs.)
DAEMON_LAYERS  := tests/corpus tests/interop
DAEMON_LOG     := .pytest-daemons.log
DAEMON_TMP     := /tmp/shinsa-daemon-tests
SERVICE_LAYERS := tests/service tests/browser/test_dashboard_browser.py
SERVICE_LOG    := .pytest-service.log
SERVICE_TMP    := /tmp/shinsa-service-tests
SITES_LAYERS   := tests/sites tests/link
SITES_LOG      := .pytest-sites.log
SITES_TMP      := /tmp/shinsa-sites-tests
UNIT_LAYERS    := tests/unit
UNIT_LOG       := .pytest-unit.log
UNIT_TMP       := /tmp/shinsa-unit-tests
REST_TMP       := /tmp/shinsa-rest-tests
PYTEST         := $(BIN)/pytest -q --durations=15

.PHONY: demo test check lint daemons bench clean man

$(STAMP): pyproject.toml $(EXAMPLE_PLUGIN)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,lab,service,sites]'
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
	@rm -f $(DAEMON_LOG) $(SERVICE_LOG) $(SITES_LOG) $(UNIT_LOG)
	@sites_layers=$$(for d in $(SITES_LAYERS); do \
	    find $$d -name 'test_*.py' -print -quit 2>/dev/null | grep -q . && echo $$d; done); \
	sites_layers=$$(echo $$sites_layers); \
	echo "$(DAEMON_LAYERS), $(SERVICE_LAYERS), $(UNIT_LAYERS) and the sites'" \
	    "($${sites_layers:-none with tests yet}): beside the rest, their reports follow it"; \
	start=$$(date +%s); \
	$(PYTEST) -p no:cacheprovider --basetemp=$(DAEMON_TMP) $(DAEMON_LAYERS) \
	    > $(DAEMON_LOG) 2>&1 & daemons=$$!; \
	$(PYTEST) -p no:cacheprovider --basetemp=$(SERVICE_TMP) $(SERVICE_LAYERS) \
	    > $(SERVICE_LOG) 2>&1 & service=$$!; \
	if [ -n "$$sites_layers" ]; then \
	  $(PYTEST) -p no:cacheprovider --basetemp=$(SITES_TMP) $$sites_layers \
	      > $(SITES_LOG) 2>&1 & sites=$$!; \
	else echo "no test files in $(SITES_LAYERS) yet" > $(SITES_LOG); sites=; fi; \
	$(PYTEST) -p no:cacheprovider --basetemp=$(UNIT_TMP) $(UNIT_LAYERS) \
	    > $(UNIT_LOG) 2>&1 & unit=$$!; \
	$(PYTEST) -n 2 --dist loadfile --basetemp=$(REST_TMP) \
	    $(addprefix --ignore=,$(DAEMON_LAYERS) $(SERVICE_LAYERS) $(SITES_LAYERS) $(UNIT_LAYERS)); \
	rest=$$?; echo "(the rest: $$(( $$(date +%s) - start )) s)"; \
	wait $$daemons; daemons=$$?; wait $$service; service=$$?; wait $$unit; unit=$$?; \
	if [ -n "$$sites" ]; then wait $$sites; sites=$$?; else sites=0; fi; \
	echo "(all: $$(( $$(date +%s) - start )) s)"; \
	echo "--- $(DAEMON_LAYERS)"; cat $(DAEMON_LOG); \
	echo "--- $(SERVICE_LAYERS)"; cat $(SERVICE_LOG); \
	echo "--- $(SITES_LAYERS)"; cat $(SITES_LOG); \
	echo "--- $(UNIT_LAYERS)"; cat $(UNIT_LOG); \
	echo "exit status: rest $$rest, daemons $$daemons, service $$service," \
	    "sites $$sites, unit $$unit"; \
	test $$rest -eq 0 && test $$daemons -eq 0 && test $$service -eq 0 && \
	    test $$sites -eq 0 && test $$unit -eq 0

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
