# `make demo` and `make test` each do their own set-up on a fresh machine with only Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,demo,budgets]"
	touch $(STAMP)

OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
# The oldest SDK releases we support; the adapter tests run against them too.
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
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q
	$(MAKE) test-oldest

demo: $(STAMP)
	$(BIN)/llm-cost-otel demo
