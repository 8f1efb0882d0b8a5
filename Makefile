# Herald — `make run` to try it, `make test` for the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean help

help:
	@echo "make run    create .venv, install, migrate, seed demo data (first run), serve on http://127.0.0.1:8000"
	@echo "make test   lint, dependency contract, the whole test suite (SQLite and PostgreSQL)"
	@echo "make bench  benchmarks (see bench/README.md)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Herald needs Python 3.11 or newer; this is " + sys.version.split()[0] + " — run make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/herald db upgrade
	$(BIN)/herald demo --if-empty
	$(BIN)/herald serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The whole suite, one worker per core (every test has its own database, so they do not meet).
test: lint
	$(BIN)/python -m pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python bench/send_email.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
