# The two set-up commands of the README: `make run` (train if needed, then serve) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint repro bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,ray,transformer]"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/minyi serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

repro: install
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

bench: install
	$(BIN)/minyi bench
