# The README's two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DB ?= sqlite:///$(CURDIR)/.quantdesk-demo.db
DEMO_PORT ?= 8000

.PHONY: demo test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,postgres,mysql]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@echo "Loading the demo portfolio and starting the server (Ctrl-C stops it)."
	@echo "From another terminal: $(BIN)/quantdesk --db '$(DEMO_DB)' --user demo positions --consolidated"
	@echo "                       $(BIN)/quantdesk --db '$(DEMO_DB)' --user demo analytics --period 1Y"
	$(BIN)/quantdesk --db '$(DEMO_DB)' serve --demo --port $(DEMO_PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/price_cache.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/api.py

clean:
	rm -rf $(VENV) .quantdesk-demo.db* .pytest_cache .mypy_cache .ruff_cache
