# The two commands of the README: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install lock ui bench clean

# Locked dependencies into .venv; uv (pinned, from the lock itself) makes this take seconds, not minutes.
$(BIN)/.installed: requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync -q --python $(BIN)/python --compile-bytecode requirements-dev.lock
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python -m pipeline demo

test: install
	bash tests/install_servers.sh
	bash tests/install_browser.sh
	$(BIN)/python -m pytest

ui: install
	$(BIN)/python -m pipeline ui

# The performance benchmark (README, "Performance"): make bench SCALE=medium
SCALE ?= small
bench: install
	$(BIN)/python -m bench --scale $(SCALE)

# Regenerate both lock files after editing pyproject.toml.
lock:
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --generate-hashes -c requirements.lock -o requirements-dev.lock

clean:
	rm -rf .local dbt_project/target dbt_project/logs
