# sitegen: `make build` sets everything up and builds the demo; `make test` runs the tests.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CATALOG ?= catalog
SITEGEN := $(BIN)/sitegen --catalog $(CATALOG)

.PHONY: install system-deps build serve test bench lint clean golden

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[render,farm,test]'
	touch $@

# The system programs the tests drive (Chromium and its fonts, redis-server, Node.js):
# apt-get installs what is missing when run as root; otherwise one line says what to
# install. `test` checks them before the venv (minutes of pip) is made; `build` needs
# none of them (Blender is the bpy module, installed into .venv).
system-deps:
	scripts/system-deps.sh

build: install
	$(SITEGEN) validate
	$(SITEGEN) render
	$(SITEGEN) build
	@echo "Open the site: $(BIN)/sitegen serve  (then http://127.0.0.1:8000/)"

serve: install
	$(SITEGEN) serve

test: system-deps install
	$(BIN)/pytest

# BENCH_ARGS: e.g. "--only layers" for one section (bench/README.md)
BENCH_ARGS ?=
bench: install
	scripts/system-deps.sh browser
	$(BIN)/python bench/run.py --out bench/results.json $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check sitegen tests bench blender scripts
	$(BIN)/mypy

golden: install
	SITEGEN_REGEN_GOLDEN=1 $(BIN)/pytest tests/test_site.py -k golden

clean:
	rm -rf build .build-wheel dist .pytest_cache .mypy_cache .ruff_cache
