# castsmith: `make run` starts the app on the embedded default; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
HOST ?= 127.0.0.1
UV_VERSION := 0.13.8
UV_HOME := .cache/uv-tool
UV := $(UV_HOME)/bin/uv
VENV := .venv
PHOTOS := .cache/test-photos/face_recognition-1.3.0.tar.gz
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
## Compile the dependencies' bytecode at install time and let Python cache castsmith's
## own: without .pyc files every CLI, worker and server process compiles its imports
## anew (about 2.5 s of CPU each), which a shell with PYTHONDONTWRITEBYTECODE set forces.
export UV_COMPILE_BYTECODE := 1
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run test lint typecheck unit deps dev-deps bench-deps system-deps check-services clean

$(UV):
	@$(PYTHON) -m venv $(UV_HOME)
	@$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

deps: $(UV)
	@$(UV) sync --frozen --inexact --no-dev --quiet

dev-deps: $(UV) $(PHOTOS)
	@$(UV) sync --frozen --quiet

## The benchmarks' own extras (procrastinate for the queue comparison, pyinstrument).
bench-deps: dev-deps
	@$(UV) sync --frozen --quiet --group bench

## Portraits for the curation tests: the source distribution of face_recognition 1.3.0
## ships photographs in tests/test_images (official White House portraits, public
## domain); the tests read them from the archive and check its SHA-256.
$(PHOTOS): $(UV)
	@mkdir -p $(dir $(PHOTOS))
	@$(UV_HOME)/bin/pip download --quiet --disable-pip-version-check --no-deps \
	  --no-binary :all: face_recognition==1.3.0 -d $(dir $(PHOTOS))

## Debian packages the browser tests need (installed only when running as root).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)) \
	     || { echo "could not install chromium"; exit 1; }; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests need it)"; \
	  fi; \
	fi

check-services:
	@$(VENV)/bin/python -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null \
	  && echo "PostgreSQL on 127.0.0.1:5432: reachable" \
	  || { echo "PostgreSQL on 127.0.0.1:5432 is not reachable. Start it with: pg_ctlcluster --skip-systemctl-redirect \$$(ls /etc/postgresql) main start"; \
	       if [ "$$CI" = "true" ]; then exit 1; fi; }

run: deps
	@$(VENV)/bin/castsmith migrate
	@$(VENV)/bin/castsmith serve --host $(HOST) --port $(PORT)

lint: dev-deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: dev-deps
	$(VENV)/bin/mypy

## The suite runs in two processes (pytest-xdist): many tests wait on worker processes,
## servers and browsers rather than on the CPU. PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2

test: dev-deps system-deps check-services lint typecheck
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

unit: dev-deps
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(UV_HOME) .mypy_cache .ruff_cache .pytest_cache
