# `make demo` and `make test` each do their own set-up on a fresh machine with only Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dev venv installs the versions pinned in constraints/test.txt (see its header);
# `make CONSTRAINTS= install` resolves without them.
CONSTRAINTS ?= constraints/test.txt
# Python sources that ruff checks and formats (mypy checks src only: see [tool.mypy]).
LINT_PATHS := src tests bench grafana scripts

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

.PHONY: install test test-unit test-stack test-bench test-oldest test-gc-py312 second-source price-drift lint demo
install: $(STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST)/bin/python -m pytest -q -p no:cacheprovider tests/test_anthropic.py tests/test_attribution.py tests/test_instrumentation.py tests/test_google_genai.py

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# Each group is its own step: the unit suite, the stack (Prometheus, promtool, Alertmanager),
# the benchmark's quick runs, then the adapter tests against the oldest SDKs.
test: lint
	$(MAKE) test-unit
	$(MAKE) test-stack
	$(MAKE) test-bench
	$(MAKE) test-oldest

test-unit: $(STAMP) second-source
	$(BIN)/python -m pytest -q -m "not stack and not bench"

# LiteLLM's price table at the version pinned in the script, for tests/test_second_source.py
# (downloaded from PyPI once into .cache/, read as data, never imported).
second-source: $(STAMP)
	$(BIN)/python scripts/fetch-second-source.py

# What the newest genai-prices release would change: a report, never a failure.
price-drift: $(STAMP)
	$(BIN)/python scripts/price-drift.py

test-stack: $(STAMP)
	$(BIN)/python -m pytest -q -m stack

test-bench: $(STAMP)
	$(BIN)/python -m pytest -q -m bench

# The garbage-collector hang scenario reproduces the old deadlock on 3.12 (3.11 collects at the
# allocation, not at the next bytecode boundary): run the hang scenarios there too.
PY312 ?= python3.12
PY312_VENV := .venv-py312
$(PY312_VENV)/.installed: pyproject.toml
	$(PY312) -m venv $(PY312_VENV)
	$(PY312_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PY312_VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $@

test-gc-py312: $(PY312_VENV)/.installed
	$(PY312_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/reliability/test_hangs.py

demo: $(STAMP)
	$(BIN)/llm-cost-otel demo
