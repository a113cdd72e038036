# The README's two commands: `make run` and `make test`. Both create .venv on first use and reuse it after.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALL_STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/constraints.txt | sha256sum | cut -c1-12)

.PHONY: setup run test lint format bench

setup: $(INSTALL_STAMP)

$(INSTALL_STAMP): pyproject.toml requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[train,serve,dev]"
	rm -f $(VENV)/.installed-* && touch $@

run: setup
	$(PY) -m training.cli photos check $(or $(PHOTOS),--samples)

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) bench/intake_bench.py
