# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
# The venv's interpreter: the distribution's CPython 3.11+ where there is one (Debian builds it with
# PGO and LTO; pyenv's default build has neither and costs 15-25% more CPU per request, README
# Performance), else python3 from PATH. `make PYTHON=python3.12 ...` picks another.
DISTRO_PYTHON := $(shell /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(DISTRO_PYTHON),python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The interpreter asked for, and the one the venv was built on (pyvenv.cfg): a venv built on
# another is rebuilt, so `make PYTHON=python3.12 serve` does not silently keep a 3.11 venv.
WANT_PYTHON := $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
VENV_PYTHON := $(shell sed -n 's/^executable = //p' $(VENV)/pyvenv.cfg 2>/dev/null)

.PHONY: serve test lint contract bench soak clean browser
ifneq ($(WANT_PYTHON),$(VENV_PYTHON))
.PHONY: $(STAMP)
endif

# One venv build at a time (`make serve &` and `make test` on a fresh clone): the second waits
# for the lock, then finds the venv built and up to date, and builds nothing.
$(STAMP): pyproject.toml
	@test -n "$(WANT_PYTHON)" || { echo "make: no Python interpreter at PYTHON=$(PYTHON)" >&2; exit 1; }
	@flock $(VENV).lock sh -c ' \
	  if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ] && \
	     [ "$$(sed -n "s/^executable = //p" $(VENV)/pyvenv.cfg)" = "$(WANT_PYTHON)" ]; then exit 0; fi; \
	  clear=; [ "$$(sed -n "s/^executable = //p" $(VENV)/pyvenv.cfg 2>/dev/null)" = "$(WANT_PYTHON)" ] || clear=--clear; \
	  set -ex; \
	  $(PYTHON) -m venv $$clear $(VENV); \
	  $(BIN)/python -m pip install --quiet --upgrade pip; \
	  $(BIN)/python -m pip install --quiet -e ".[dev]"; \
	  echo "$(WANT_PYTHON)" > $(STAMP)'

serve: $(STAMP)
	$(BIN)/standin serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check server fixtures contract_tests tests bench
	$(BIN)/ruff format --check server fixtures contract_tests tests bench
	$(BIN)/hadolint Dockerfile

test: $(STAMP) lint browser
	$(BIN)/python -m pytest -n 2 --dist loadfile  # two workers: most tests wait on servers and sockets

# Headless Chromium and its driver (Debian packages) for tests/test_browser.py, when missing.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver)

contract: $(STAMP)
	for api in $$($(BIN)/python -c 'from server.app import API_NAMES; print(*API_NAMES)'); do \
		$(BIN)/standin contract --api $$api || exit 1; done

# Installs wrk (Debian), Prism (npm, under bench/.node/) and py-spy, then ~17 minutes of bounded load on 127.0.0.1.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	test -x bench/.node/node_modules/.bin/prism || \
		npm install --prefix bench/.node --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5.14.2
	test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python -m bench $(ARGS)

# The reliability suite's long form (tests/reliability): 5 minutes of mixed load (first vs last
# minute, p99 < 50 ms, RSS), schemathesis over every operation, more writes per writer.
soak: $(STAMP)
	STANDIN_SOAK_SECONDS=$${STANDIN_SOAK_SECONDS:-300} STANDIN_FUZZ_OPERATIONS=all STANDIN_WRITES_EACH=30 \
		$(BIN)/python -m pytest tests/reliability -s

clean:
	rm -rf $(VENV) $(VENV).lock reports
