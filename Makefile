# The two set-up commands are `make demo` and `make test`; everything they need is
# installed by scripts/ on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-unit lint venv services-up services-down bench clean

demo: venv
	$(VENV)/bin/crm demo --reset

test: venv lint services-up
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy domain projections streams

test-unit: venv
	$(PY) -m pytest tests/unit

venv:
	@scripts/venv.sh

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
