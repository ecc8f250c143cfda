# paperhub: `make run` starts the site, `make test` runs the tests. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format bench eval load clean-var

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

## run: set up (venv, requirements, migrations, demo data) and start web + worker + beat (paperhub/devrun.py).
## SITE_URL, when unset, follows HOST and PORT; Ctrl-C stops all three within seconds.
run: $(VENV)/.runtime-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --if-empty
	@exec $(PY) -m paperhub.devrun --host $(HOST) --port $(PORT)

## test: set up and run lint and the unit suite (SQLite, eager Celery; no server needed), one pytest process per core.
## PAPERHUB_TEST_CLOCK_SHIFT_DAYS=365 runs it with the clock a year ahead (docs/testing.md).
test: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n auto

## load: the bounded load test (100 readers x 60 s, locust against gunicorn + PostgreSQL + Redis); see bench/README.md. Not in `make test`.
.venv-bench/bin/locust: bench/requirements.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q -r bench/requirements.txt
	touch $@

load: $(VENV)/.runtime-installed .venv-bench/bin/locust
	$(PY) bench/load.py $(LOAD_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: build (or reuse) the synthetic PostgreSQL data set and measure paperhub against its floors.
## BENCH_SCALE=0.01 for a quick run; BENCH_DATABASE_URL names the bench's own database. Never part of test or CI.
bench: $(VENV)/.dev-installed
	@command -v wrk >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi; }
	$(PY) -m bench.run

## eval: ranking quality (digests and search) against baselines on readers and queries with known answers; see bench/README.md. Never part of test or CI.
eval: $(VENV)/.dev-installed
	$(PY) -m bench.eval

clean-var:
	rm -rf var
