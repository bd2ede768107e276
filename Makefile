# Docket — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | sha256sum | cut -c1-12)
# `make test` runs on PostgreSQL; `make run` stays on the embedded SQLite unless DATABASE_URL is set.
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/docket

.PHONY: run test lint venv chromium sysdig weasyprint clean

venv: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# USWDS, htmx and axe-core from npm, exactly as package-lock.json pins them.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-* && touch $@

# The browser tests drive Debian's Chromium; no tool downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; }

# Command timelines from scap evidence are decoded by Debian's sysdig.
sysdig:
	@command -v sysdig >/dev/null 2>&1 || { \
	  echo "Installing Debian's sysdig for the capture tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sysdig; }

# Report PDFs are rendered by WeasyPrint, which needs Debian's Pango (and HarfBuzz's subsetter,
# to embed only the glyphs a report uses).
WEASYPRINT_LIBS := libpango-1.0.so.0:libpango-1.0-0 libpangoft2-1.0.so.0:libpangoft2-1.0-0 \
  libharfbuzz-subset.so.0:libharfbuzz-subset0
weasyprint:
	@missing=""; for pair in $(WEASYPRINT_LIBS); do \
	  ldconfig -p | grep -q "$${pair%%:*}" || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian's$$missing for the report PDFs"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

# Everything on embedded defaults: SQLite in var/, a filesystem Celery broker in var/broker,
# mail printed on the console. Ctrl-C stops the web server, the worker and beat.
# The worker decodes uploaded captures with sysdig; without it (no root, no apt) the demo still
# runs and each extraction is recorded as failed.
run: venv weasyprint
	@$(MAKE) --no-print-directory sysdig || echo "warning: sysdig is not installed; command timelines from captures will be recorded as failed"
	DJANGO_SETTINGS_MODULE=config.settings.local bash scripts/run.sh

# ruff, then the layers: import-linter's contracts (pyproject.toml) and what they cannot say
# (every module in a layer, no app importing another's private names; scripts/check_layers.py).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_layers.py

test: lint chromium sysdig weasyprint
	DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=sqlite:///:memory: \
	  $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.production \
	  DJANGO_SECRET_KEY=check-deploy-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
	  DJANGO_ALLOWED_HOSTS=docket.example.gov \
	  DOCKET_SIGNING_KEY="$$($(PY) -c 'from core.signing import generate_private_pem as g; print(g())')" \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) var node_modules staticfiles
