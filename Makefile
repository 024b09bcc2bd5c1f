# The two commands of the README: `make run` and `make test`. Both build .venv first
# from a Python 3.12+ interpreter found by scripts/find-python.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS  ?=

.PHONY: run test test-slow docs benchmark sweep-benchmark sensitivity calibrate app clean setup help

run: $(STAMP)                 ## run the default scenario on the default area
	$(PY) -m sim $(ARGS)

test: $(STAMP)                ## lint, check the docs tables, run the whole test suite (two test processes)
	$(VENV)/bin/ruff check sim tests experiments scripts
	$(PY) -m pytest -n 2 --dist loadgroup

test-slow: $(STAMP)           ## the slow studies left out of the default suite
	$(PY) -m pytest -m slow

docs: $(STAMP)                ## regenerate the parameter and target tables in docs/model.md and docs/evidence.md
	$(PY) -m sim.docs

setup: $(STAMP)                ## build .venv and install the project (run and test do this first)

help:                         ## list these targets and what each does
	@awk -F ':[^#]*## ' '/^[a-z-]+:.*## /{printf "make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@PYTHON_BIN="$$(PYTHON="$(PYTHON)" scripts/find-python)" || exit 1; \
	  echo "Building $(VENV) with $$PYTHON_BIN"; \
	  "$$PYTHON_BIN" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,test]"
	scripts/offline-assets $(VENV)
	touch $(STAMP)

clean:                        ## remove .venv and the caches
	rm -rf $(VENV) .pytest_cache .ruff_cache

benchmark: $(STAMP)           ## speed and memory by size, against the per-agent reference
	$(PY) -m experiments.benchmark $(ARGS)

sweep-benchmark: $(STAMP)     ## sweep throughput serial vs all cores, engine overhead
	$(PY) -m experiments.sweep_benchmark $(ARGS)

sensitivity: $(STAMP)         ## the Sobol study over fifteen levers (ARGS="method=morris n=64" to screen)
	$(PY) -m experiments.sensitivity $(ARGS)

calibrate: $(STAMP)           ## fit the uncertain coefficients to the targets (ARGS="install=true" to use the result)
	$(PY) -m experiments.calibrate $(ARGS)

app: $(STAMP)                 ## the trainer's live app on http://127.0.0.1:8765
	@echo "Starting the app at http://127.0.0.1:8765 (Ctrl-C stops it)"
	$(VENV)/bin/solara run sim/app.py --host 127.0.0.1 --port 8765 --production --no-open
