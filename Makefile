# `make run` and `make test` work on a fresh machine with only Python 3.11+ installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The address `make run` serves on: make run ADDR=127.0.0.1:8080 (HOST:PORT, or a port on 127.0.0.1).
ADDR ?= 127.0.0.1:8000

run: install
	$(BIN)/python manage.py rundemo --addr '$(ADDR)'

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench
