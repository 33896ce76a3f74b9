# raikit: `make demo` runs the main job, `make test` runs lint and the whole test suite.
# Both create .venv on first use; nothing is downloaded at run time except packages from PyPI.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP_CORE := $(VENV)/.stamp-core
STAMP_DEV := $(VENV)/.stamp-dev
STAMP_DOCS := $(VENV)/.stamp-docs

.PHONY: demo test lint format bench docs clean system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch must come from the local CPU wheel (torch==2.13.0) before anything that depends on it.
$(STAMP_CORE): $(PY) pyproject.toml
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e .
	touch $@

$(STAMP_DEV): $(STAMP_CORE)
	$(PIP) install --quiet -e ".[dev]"
	touch $@

$(STAMP_DOCS): $(STAMP_CORE)
	$(PIP) install --quiet -e ".[docs]"
	touch $@

demo: $(STAMP_CORE)
	$(VENV)/bin/raikit demo

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check src tests bench scripts

format: $(STAMP_DEV)
	$(VENV)/bin/ruff format src tests bench scripts

# Browser tests drive Debian's Chromium, the PostgreSQL ledger tests start Debian's PostgreSQL and
# the PDF tests need Pango for WeasyPrint (and Chromium for static figures); install them when we
# can (root), otherwise those tests are skipped.
SYSTEM_PACKAGES := chromium chromium-driver postgresql libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz-subset0 fonts-dejavu-core
system-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  && ls /usr/lib/*/libpangoft2-1.0.so.0 >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && (apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
	    (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null)) \
	    || echo "note: chromium/postgresql/pango not installed; browser, PostgreSQL and PDF tests will be skipped"; }

test: lint system-deps
	$(PY) -m pytest -q -n 2

bench: $(STAMP_DEV)
	$(PY) bench/bench_metrics.py

# The documentation site (Sphinx, numpydoc, PyData theme, sphinx-gallery): every warning is an
# error and the gallery's examples run. Open docs/_build/html/index.html; it loads nothing online.
docs: $(STAMP_DOCS)
	$(PY) -m sphinx -b html -W --keep-going -j auto docs docs/_build/html

clean:
	rm -rf $(VENV) raikit-demo .pytest_cache .ruff_cache docs/_build docs/api docs/auto_examples
