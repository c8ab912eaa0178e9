# `make demo` and `make test` each do their own set-up on a fresh machine with only Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dev venv installs the versions pinned in constraints/test.txt (see its header);
# `make CONSTRAINTS= install` resolves without them.
# Frozen on CPython 3.11: an older interpreter resolves from pyproject's ranges instead.
CONSTRAINTS ?= $(shell $(PYTHON) -c 'import sys; print("constraints/test.txt" if sys.version_info >= (3, 11) else "")')
# Python sources that ruff checks and formats (mypy checks src only: see [tool.mypy]).
LINT_PATHS := src tests bench grafana

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[test,demo,budgets]"
	touch $(STAMP)

OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
# The oldest SDK releases we support; the adapter tests run against them too.
# This venv pins its own SDK versions and does not use constraints/test.txt.
OLDEST_ANTHROPIC := 2.10.0
OLDEST_GOOGLE_GENAI := 3.3.0

$(OLDEST_STAMP): pyproject.toml
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -e ".[test]" "anthropic[bedrock,vertex]==$(OLDEST_ANTHROPIC)" "google-genai==$(OLDEST_GOOGLE_GENAI)"
	touch $(OLDEST_STAMP)

.PHONY: install test test-oldest lint demo
install: $(STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST)/bin/python -m pytest -q -p no:cacheprovider tests/test_anthropic.py tests/test_attribution.py tests/test_instrumentation.py tests/test_google_genai.py

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q
	$(MAKE) test-oldest

demo: $(STAMP)
	$(BIN)/llm-cost-otel demo
