# Two commands for a fresh machine (see README.md):
#   make run    installs Herald into .venv and starts it (embedded PostgreSQL unless HERALD_DATABASE_URL is set)
#   make test   installs Herald with its test tools into .venv, then lints and runs the whole test suite
# Needs Python 3.11 (the embedded PostgreSQL ships wheels for 3.11 only).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench-locust protos

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install --quiet -e .
	touch $@

# The test tools, plus the example out-of-tree channel plugin, installed as a third party would install it.
$(VENV)/.installed-test: $(VENV)/.installed tests/example_plugin/pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]' -e ./tests/example_plugin
	touch $@

run: $(VENV)/.installed
	$(BIN)/herald serve

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.installed-test lint
	$(BIN)/pytest

protos: $(VENV)/.installed-test
	$(BIN)/python proto/generate.py

bench-locust: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run_locust.py
