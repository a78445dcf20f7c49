# shld-jax: `make figures` re-executes every notebook; `make test` runs the tests.
# Both bootstrap .venv from the pins (pyproject.toml + requirements.lock) on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB ?=
# Every CPU core becomes a JAX device (read by XLA at start-up; see shld_jax/sharding.py).
NPROC := $(shell nproc 2>/dev/null || echo 1)
export XLA_FLAGS ?= --xla_force_host_platform_device_count=$(NPROC)
export PYTHONHASHSEED := 0
QUICK := build/quick
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p tools.nbval_plugin
# quick-mode cells take seconds; a full-mode cell (05's grid, 09's sweep) takes up to ~20 min here
QUICK_CELL_TIMEOUT := 900
FULL_CELL_TIMEOUT := 3600

# JAX's persistent compilation cache, shared by the processes of one run (programs that a test
# and a notebook both compile are built once).
export JAX_COMPILATION_CACHE_DIR ?= $(abspath build/jax-cache)

.PHONY: test-unit test-notebooks figures test reproduce lab bench clean venv site site-test clean-cache

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[notebooks,dev,bench,docs]'
	@# the kernel splits the host into $(NPROC) JAX devices, like every make target (XLA_FLAGS)
	$(PY) -c 'import sys; from ipykernel.kernelspec import install; install(prefix=sys.prefix, \
	  kernel_name="shld-jax", display_name="shld-jax (.venv)", \
	  env={"XLA_FLAGS": "--xla_force_host_platform_device_count=$(NPROC)"})' >/dev/null
	@touch $@

# FRESH=1 recomputes every experiment and overwrites the result cache (.cache/, see shld_jax/cache.py).
# CELL_TIMEOUT=S bounds each cell (default 3600 s, see tools/pipeline.py).
figures: $(STAMP)
	$(if $(FRESH),SHLD_FRESH=1 )$(PY) tools/pipeline.py figures $(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT) )$(NB)

# Unit/property tests and the quick-mode notebook checks run as two parallel pytest
# processes (one per core); --output-sync keeps each one's report in one piece.
test: $(STAMP)
	rm -rf $(QUICK) && $(PY) tools/pipeline.py quick $(QUICK) $(NB) >/dev/null
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-unit test-notebooks

# The slowest unit files run in the notebook process, so that the two halves take about
# the same time on two cores.
BALANCE := tests/test_multiprocess.py tests/test_grok_predictors.py
test-unit: $(STAMP)
	SHLD_QUICK=1 $(PY) -m pytest -q -p no:cacheprovider tests $(addprefix --ignore=,$(BALANCE))

test-notebooks: $(STAMP)
	SHLD_FIG_DIR=$(abspath $(QUICK))/figures SHLD_QUICK=1 $(PY) -m pytest -q -p no:cacheprovider $(QUICK)/*.ipynb $(BALANCE) $(NBVAL) --nbval-cell-timeout=$(QUICK_CELL_TIMEOUT)

# Full-mode re-execution of the committed notebooks under nbval: the headline cells
# marked NBVAL_CHECK_OUTPUT must reproduce the committed outputs.
reproduce: $(STAMP)
	rm -rf build/reproduce && mkdir -p build/reproduce && cp notebooks/[0-9][0-9]_*.ipynb build/reproduce/
	SHLD_CACHE=off SHLD_FIG_DIR=$(abspath build/reproduce)/figures $(PY) -m pytest -q build/reproduce/*.ipynb $(NBVAL) --nbval-cell-timeout=$(FULL_CELL_TIMEOUT)
	$(PY) -m shld_jax.claims compare figures/claims build/reproduce/figures/claims

# JupyterLab on the notebooks with the package's kernel (`make lab LAB_ARGS=` opens a browser).
LAB_ARGS ?= --no-browser
lab: $(STAMP)
	env -u MPLBACKEND $(VENV)/bin/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The documentation site -> site/ (gitignored): Sphinx + myst-nb (notebooks rendered from their
# committed outputs), API reference, claims ledger; warnings are errors. MathJax is served from
# the site itself (offline), copied from Debian's libjs-mathjax (installed here where missing).
APT := $$( [ "$$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get
export MATHJAX_DIR ?= /usr/share/javascript/mathjax
SPHINX := $(PY) -m sphinx -b html -E -W --keep-going -q -d build/doctrees
site: $(STAMP)
	@test -f $(MATHJAX_DIR)/MathJax.js || ( $(APT) update -qq && $(APT) install -y -qq libjs-mathjax >/dev/null )
	rm -rf site docs/_autosummary
	$(SPHINX) docs site

# Browser check of the site in headless Chromium (installs Debian's chromium where missing):
# every page loads without console errors, images and math render, search finds `ars`;
# and a second build is byte-identical. Not part of `make test` (it takes minutes).
site-test: site
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  ( $(APT) update -qq && $(APT) install -y -qq chromium >/dev/null )
	SITE_DIR=$(abspath site) $(PY) -m pytest -q -rs -p no:cacheprovider tests/test_site.py

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf build site .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +

clean-cache:
	rm -rf "$${SHLD_CACHE_DIR:-.cache}"
