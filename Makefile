# The README's two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
DEMO_DB ?= sqlite:///$(CURDIR)/.quantdesk-demo.db
DEMO_PORT ?= 8000

WEB_STAMP := web/node_modules/.installed-$(shell cat web/package-lock.json | cksum | cut -d' ' -f1)
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

.PHONY: demo test lint bench install clean web web-test web-types

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgres,mysql]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

# The web dashboard: node modules from the lock file, then the production build that the
# API serves at "/".
$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	rm -f web/node_modules/.installed-*; touch $(WEB_STAMP)

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build --silent

web: web/dist/index.html

web-test: $(WEB_STAMP)
	cd web && npm run typecheck --silent && npm test --silent

# Regenerate the typed API client after an API change (a test says when it is due).
web-types: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m quantdesk.api.spec > web/src/api/openapi.json
	cd web && npm run api-types --silent

demo: $(STAMP) web
	@echo "Loading the demo portfolio and starting the server (Ctrl-C stops it)."
	@echo "From another terminal: $(BIN)/quantdesk --db '$(DEMO_DB)' --user demo positions --consolidated"
	@echo "                       $(BIN)/quantdesk --db '$(DEMO_DB)' --user demo analytics --period 1Y"
	$(BIN)/quantdesk --db '$(DEMO_DB)' serve --demo --port $(DEMO_PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint web-test web
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/price_cache.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/bench_exchange_import.py
	$(MAKE) web
	$(BIN)/python benchmarks/web_dashboard.py

clean:
	rm -rf $(VENV) .quantdesk-demo.db* .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
