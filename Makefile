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

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) reports
