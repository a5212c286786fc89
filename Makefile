# The two commands of the README: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install prepare lock ui ui-screenshot bench clean

MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests -name '*.sql' -o -name '*.yml') \
	dbt_project/dbt_project.yml dbt_project/profiles.yml

# Locked dependencies into .venv; uv (pinned, from the lock itself) makes this take seconds, not minutes.
$(BIN)/.installed: requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync -q --python $(BIN)/python --compile-bytecode requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Tools that pin their own versions of the AWS libraries get a virtualenv each, rebuilt when its lock changes (make
# lock writes tools/<tool>.lock from tools/<tool>.in); wheels only, each checked against its hash, by the project's
# uv. checkov (make lint) pins an old boto3; the AWS CLI (the stack tests run deploy/cloudformation/deploy.sh with
# it) pins its own botocore.
CHECKOV_VENV := .tools/checkov
AWSCLI_VENV := .tools/awscli
.tools/%/.installed: tools/%.lock | $(BIN)/.installed
	rm -rf .tools/$*
	$(BIN)/uv venv -q --python $(BIN)/python .tools/$*
	$(BIN)/uv pip sync -q --python .tools/$*/bin/python --require-hashes --only-binary :all: tools/$*.lock
	touch $@

# dbt's manifest, which dagster-dbt reads when the definitions load: parsed again when a model changed.
$(MANIFEST): $(BIN)/.installed $(DBT_SOURCES)
	$(BIN)/python -m pipeline prepare

prepare: $(MANIFEST)

demo: prepare
	$(BIN)/python -m pipeline demo

# Python (ruff: format and lint), the dbt models' SQL (sqlfluff, jinja templater: offline, no dbt run), the
# import contracts between pipeline/'s layers and pipelines (import-linter, [tool.importlinter] in pyproject.toml),
# the CloudFormation templates (cfn-lint, then checkov's security checks with no download: each accepted finding
# is suppressed in its template with the reason) and the GitHub workflows (actionlint, shellcheck on `run:`).
CFN_TEMPLATES := $(wildcard deploy/cloudformation/*.yaml)
lint: install $(CHECKOV_VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests
	$(BIN)/lint-imports --no-logo
	@test -n "$(CFN_TEMPLATES)" || { echo "lint: no template in deploy/cloudformation/" >&2; exit 1; }
	$(BIN)/cfn-lint $(CFN_TEMPLATES)
	$(CHECKOV_VENV)/bin/checkov --framework cloudformation --skip-download --quiet -d deploy/cloudformation
	$(BIN)/actionlint -shellcheck $(BIN)/shellcheck -pyflakes '' .github/workflows/*.yml

# The suite in TEST_WORKERS pytest-xdist workers (processes): its slow tests mostly wait on servers, Spark and dbt.
# --dist loadfile keeps a module's tests on one worker, so a module-scoped fixture (a production deployment, the
# demo) is built once; each worker has its own session servers, folder (<root>/popen-gwN) and ports. The modules go
# out in collection order (--no-loadscope-reorder): xdist's default hands out the modules with the most tests first,
# which leaves the one- and two-test modules that take minutes (deploy_smoke, the backfill, the demo) for the end,
# one worker busy and the other idle. (Not --dist loadgroup: with pytest 9.2's node ids xdist 3.8 ignores its
# xdist_group marks, pytest-xdist issue 1386.) TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
test: lint prepare $(AWSCLI_VENV)/.installed
	bash tests/install_servers.sh
	bash tests/install_browser.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

ui: prepare
	$(BIN)/python -m pipeline ui

# Refresh the README's pictures, docs/ui-asset-graph.png and docs/ui-asset-row-counts.png, on purpose: the UI test
# after the demo takes them from the demo's instance (a plain `make test` keeps them in a temporary folder).
ui-screenshot: prepare
	bash tests/install_browser.sh
	UI_SCREENSHOT_DIR=$(CURDIR)/docs $(BIN)/python -m pytest -q tests/test_ui_after_demo.py

# The performance benchmark (docs/performance.md): make bench SCALE=medium
SCALE ?= small
bench: prepare
	$(BIN)/python -m bench --scale $(SCALE)

# Regenerate the lock files after editing pyproject.toml (or tools/<tool>.in: a tool's own virtualenv).
lock:
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --generate-hashes -c requirements.lock -o requirements-dev.lock
	for tool in checkov awscli; do \
	  $(BIN)/uv pip compile -q tools/$$tool.in --python-version 3.11 --generate-hashes -o tools/$$tool.lock; done

clean:
	rm -rf .local dbt_project/target dbt_project/logs
