# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint contract bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/standin serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check server fixtures contract_tests tests bench
	$(BIN)/ruff format --check server fixtures contract_tests tests bench
	$(BIN)/hadolint Dockerfile

test: $(STAMP) lint
	$(BIN)/python -m pytest

contract: $(STAMP)
	for api in productive ibuildapp resourceguru; do $(BIN)/standin contract --api $$api || exit 1; done

# Installs wrk (Debian), Prism (npm, under bench/.node/) and py-spy, then ~6 minutes of bounded load on 127.0.0.1.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	test -x bench/.node/node_modules/.bin/prism || \
		npm install --prefix bench/.node --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5.14.2
	test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) reports
