# The two commands of the README: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.local/dagster_home

.PHONY: demo test install lock dbt-parse ui clean

# Locked dependencies into .venv; uv (pinned, from the lock itself) makes this take seconds, not minutes.
$(BIN)/.installed: requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync -q --python $(BIN)/python --compile-bytecode requirements-dev.lock
	touch $@

install: $(BIN)/.installed

# dagster-dbt reads target/manifest.json when the definitions load.
dbt-parse: install
	$(BIN)/python -m pipeline prepare

demo: install
	$(BIN)/python -m pipeline demo

test: install
	bash tests/install_servers.sh
	$(BIN)/python -m pytest

ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Regenerate both lock files after editing pyproject.toml.
lock:
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --generate-hashes -c requirements.lock -o requirements-dev.lock

clean:
	rm -rf .local dbt_project/target dbt_project/logs
