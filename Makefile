# The README's two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DB ?= sqlite:///$(CURDIR)/.quantdesk-demo.db

.PHONY: demo test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,postgres,mysql]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/quantdesk --db '$(DEMO_DB)' demo
	@echo
	@echo "Explore it: $(BIN)/quantdesk --db '$(DEMO_DB)' positions --consolidated"
	@echo "            $(BIN)/quantdesk --db '$(DEMO_DB)' gains --year 2025 --method hifo"
	@echo "            $(BIN)/quantdesk --db '$(DEMO_DB)' prices show BTC"
	@echo "            $(BIN)/quantdesk --db '$(DEMO_DB)' analytics --period 1Y --explain"

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

clean:
	rm -rf $(VENV) .quantdesk-demo.db* .pytest_cache .mypy_cache .ruff_cache
