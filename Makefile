# sitegen: `make build` sets everything up and builds the demo; `make test` runs the tests.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CATALOG ?= catalog
SITEGEN := $(BIN)/sitegen --catalog $(CATALOG)

.PHONY: install build test bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[render,test]'
	touch $@

build: install
	$(SITEGEN) validate

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/run.py --out bench/results.json

lint: install
	$(BIN)/ruff check sitegen tests bench blender scripts
	$(BIN)/mypy

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
