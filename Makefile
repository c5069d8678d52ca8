# Two commands set everything up on a fresh machine with Python 3.11+:
#   make demo   the main job end to end on the embedded defaults (SQLite, file outbox)
#   make test   lint, type checks and the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mailer needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo.py

lint: $(VENV)/.installed
	$(PY) -m ruff check mailer tests bench examples docs
	$(PY) -m ruff format --check mailer tests bench examples docs
	$(PY) -m mypy

# The browser tests' axe-core comes from npm (tests/web/admin/browser/package.json); without
# npm they skip, saying why. Playwright's pip package is its driver only: it never downloads a
# browser here, the tests use Debian's chromium.
BROWSER_TESTS := tests/web/admin/browser
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

test: lint
	@if command -v npm >/dev/null; then npm ci --prefix $(BROWSER_TESTS) --no-audit --no-fund --silent; else echo "no npm: the axe-core checks will skip"; fi
	$(PY) -m pytest -n auto

# Benchmarks print their figures (the README lists them). The SMTP ones need Postfix's
# smtp-sink: apt-get install postfix (choose "No configuration"). bench/workers.py needs
# MAILER_BENCH_DATABASE_URL, a PostgreSQL database it may empty.
bench: $(VENV)/.installed
	$(PY) bench/import_subscribers.py
	$(PY) bench/render.py
	$(PY) bench/smtp_sink.py
	$(PY) bench/sendgrid_send.py
	$(PY) bench/campaign_send.py smtp
	$(PY) bench/campaign_send.py sendgrid
	$(PY) bench/campaign_send.py sendgrid --processes 2
	$(PY) bench/workers.py
	$(PY) bench/faults.py
	$(PY) bench/extraction.py
	$(PY) bench/hit_batches.py

clean:
	rm -rf $(VENV) demo .mypy_cache .ruff_cache .pytest_cache $(BROWSER_TESTS)/node_modules
