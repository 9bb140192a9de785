# The two set-up commands are `make demo` and `make test`; everything they need is
# installed by scripts/ on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-unit lint asyncapi chromium screenshots venv lock services-up services-down bench clean

demo: venv
	$(VENV)/bin/crm demo --reset

# Two worker processes (pytest-xdist), a test file each at a time and the fault tests one after
# the other (tests/conftest.py groups them): most tests wait on servers, subprocesses and polls
# rather than on the two cores. Tests marked serial run afterwards in one process (the API fuzz:
# xdist does not hand out schemathesis's generated tests whole; the warehouse readers' freshness,
# which other tests' processes would skew).
test: venv lint asyncapi chromium services-up
	$(PY) -m pytest -n 2 --dist loadgroup -m "not serial"
	$(PY) -m pytest -m serial

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy domain commands streams projections automations replay migrations dsn webhooks api crm web documents

# The AsyncAPI document (python -m streams.asyncapi), checked by the official AsyncAPI
# parser from npm, installed by scripts/asyncapi.sh at the versions its lock names.
asyncapi: venv
	@scripts/asyncapi.sh

# Debian's chromium, which the browser tests (tests/browser/) drive through Playwright by
# path: nothing downloads a browser.
chromium:
	@scripts/chromium.sh

# Takes the screenshots in docs/screenshots/ again, from the browser tests.
screenshots: venv chromium services-up
	CRM_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/browser -q

test-unit: venv
	$(PY) -m pytest tests/unit

venv:
	@scripts/venv.sh

# Refreshes requirements.txt, the hash-checked lock that scripts/venv.sh installs, from
# pyproject.toml (dependencies, the dev extra, the build backend) and pip, with pip-tools in
# a throwaway venv. Pinned versions that still fit are kept; UPGRADE=all moves every package
# to its newest release, UPGRADE="duckdb ruff" only those. Resolved for CI's Python 3.11 on
# Linux x86_64 (PYTHON3 names another interpreter of that kind).
PIP_TOOLS := pip-tools==7.6.2
lock:
	@set -euo pipefail; py=$${PYTHON3:-python3}; \
	"$$py" -c 'import platform, sys; sys.exit(sys.version_info[:2] != (3, 11) or sys.platform != "linux" or platform.machine() != "x86_64")' \
	  || { echo "error: the lock is resolved for Python 3.11 on Linux x86_64; set PYTHON3 to such a python" >&2; exit 1; }; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	"$$py" -m venv "$$tmp" && "$$tmp/bin/pip" install -q $(PIP_TOOLS); \
	up=(); case "$(UPGRADE)" in "") ;; all) up=(--upgrade) ;; *) for p in $(UPGRADE); do up+=(--upgrade-package "$$p"); done ;; esac; \
	"$$tmp/bin/python" -c 'import tomllib; t = tomllib.load(open("pyproject.toml", "rb")); print("pip", *t["build-system"]["requires"], sep="\n")' \
	| CUSTOM_COMPILE_COMMAND="make lock" "$$tmp/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras \
	    --no-emit-find-links --no-emit-index-url --no-emit-trusted-host --extra dev "$${up[@]}" \
	    --output-file requirements.txt pyproject.toml -
	@echo "==> requirements.txt refreshed; scripts/venv.sh reinstalls .venv from it on the next make"

services-up: venv
	@scripts/postgres.sh up
	@scripts/kafka.sh up

services-down:
	@scripts/kafka.sh down
	@scripts/postgres.sh down

bench: venv services-up
	@shopt -s nullglob; benches=(bench/[a-z]*.py); benches=($${benches[@]/bench\/common.py}); [ $${#benches[@]} -gt 0 ] || { echo "no benchmarks yet"; exit 0; }; \
	for b in "$${benches[@]}"; do m=$${b%.py}; echo "== $$b"; $(PY) -m "$${m//\//.}" || exit 1; done

clean:
	rm -rf $(VENV) .eventcrm .pytest_cache build *.egg-info
