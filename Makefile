# `make run` and `make test` work on a fresh machine with only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# PostgreSQL run of the suite (but the browser tests and the fault scenarios, which the SQLite run
# covers); skipped with a reason where no server answers (fails under CI).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/chatsite
# The port of `make run`'s web process (`make run WEB_PORT=8100` when 8000 is taken).
export WEB_PORT ?= 8000
# The first of `make run`'s contact replica ports: replicas on +0..+2, their metrics on +10..+12.
# It follows WEB_PORT (8000 → 9000, 8100 → 9100), so one setting moves a whole `make run`.
export CONTACTS_PORT ?= $(shell expr $(WEB_PORT) + 1000)

export PYTHONUNBUFFERED := 1
export PATH := $(BIN):$(PATH)

.PHONY: run run-cluster test test-sqlite test-postgres lint format bench bench-quick faults soak mutants setup setup-dev clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

$(VENV)/.bench: $(VENV)/.dev requirements-bench.txt
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

# scripts/run.py also creates the admin login, prints the pages once they are up, and makes Ctrl-C end with 0.
run: setup
	python manage.py migrate --noinput
	python scripts/run.py Procfile --web 127.0.0.1:$(WEB_PORT) --busy-hint ", or move this one: make run WEB_PORT=$$(($(WEB_PORT) + 100))"

# Two web nodes on one database and a private Redis (port 6390): one chat, one signaling.
run-cluster: setup
	@command -v redis-server >/dev/null || { echo "run-cluster needs redis-server: apt-get install redis-server"; exit 1; }
	python manage.py migrate --noinput
	REDIS_URL=redis://127.0.0.1:6390/0 python scripts/run.py Procfile.cluster --web 127.0.0.1:8001 --web 127.0.0.1:8002

test: test-sqlite test-postgres

test-sqlite: setup-dev
	pytest

test-postgres: setup-dev
	DATABASE_URL=$(TEST_POSTGRES_URL) pytest -m "not browser and not faults"

# ruff's rules in pyproject.toml, type hints on every function of the services, protocol and store modules included.
lint: setup-dev
	ruff check .
	ruff format --check .

format: setup-dev
	ruff format .
	ruff check --fix .

# The figures of bench/README.md (~1 hour; needs wrk and valgrind): bench/results/*.json and *.png.
# The production rows need PostgreSQL (BENCH_POSTGRES_URL) and redis-server; without them it says which it skips.
# The Go originals, if running: BENCH_COMPARE_NAMESERVER=URL [BENCH_COMPARE_NAMESERVER_PID=PID] BENCH_COMPARE_CONTACTS=HOST:PORT.
bench: $(VENV)/.bench
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk"; exit 1; }
	@command -v valgrind >/dev/null || { echo "make bench needs valgrind: apt-get install valgrind"; exit 1; }
	python -m bench.run

# The production rows only, one short run each (a few minutes), printed; too noisy to quote, the documents untouched.
bench-quick: $(VENV)/.bench
	@command -v wrk >/dev/null || { echo "make bench-quick needs wrk: apt-get install wrk"; exit 1; }
	python -m bench.run --quick

# Crash, restart and SIGTERM scenarios (real processes); figures in bench/results/faults.jsonl.
faults: setup-dev
	python -m bench.faults
	python -m bench.tables

# Known realistic bugs made one at a time in a temporary copy; each must fail its tests (~2 min; not part of `test`).
mutants: setup-dev
	python scripts/mutants.py $(MUTANTS)

# 1,000 chat clients in waves against the `make run` web process (SOAK_ARGS="--duration 60").
soak: setup-dev
	python -m bench.soak $(SOAK_ARGS)
	python -m bench.tables

# var/ holds the generated secret key too (chatsite/secret_key.py): the next `make run` makes a new one.
clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm var
	@echo "Removed $(VENV), db.sqlite3 and var/, with var/secret_key: tokens and cookies signed with the old key are void."
