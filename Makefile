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
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/herald serve

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.installed lint
	$(BIN)/pytest

protos: $(VENV)/.installed
	$(BIN)/python proto/generate.py

bench-locust: $(VENV)/.installed
	$(BIN)/python benchmarks/run_locust.py
