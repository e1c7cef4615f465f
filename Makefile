# docflow: the two commands a newcomer needs are `make demo` and `make test`.
# Every target installs what it needs (Python 3.12 virtual environment, npm packages).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
SLS     := node_modules/.bin/sls
STAGE   ?= dev
# Python 3.12 is the Lambda runtime. pyenv first (these machines), then PATH (a user's machine).
PYTHON312 := $(shell PYENV_VERSION=3.12.1 pyenv which python3.12 2>/dev/null || command -v python3.12 2>/dev/null)
# serverless-python-requirements and the packaging plugin build with this interpreter.
export DOCFLOW_PYTHON312 := $(PYTHON312)

.PHONY: help venv npm deps demo up down test lint typecheck unit functional e2e templates package bench clean constraints

help:
	@echo "make demo    run docflow's main job on the embedded local AWS (no account needed)"
	@echo "make test    every test and check (what CI runs)"
	@echo "make up      start the local stack and deploy to it (.local/stack.json); make down stops it"
	@echo "make package STAGE=dev|prod   compile the CloudFormation template and packages"
	@echo "make bench   run the benchmarks and write bench/results/*.json"

$(PY): requirements.txt requirements-dev.txt constraints.txt
	@if [ -z "$(PYTHON312)" ]; then echo "Python 3.12 not found: install it (pyenv install 3.12, or your OS package python3.12)"; exit 1; fi
	@[ -x $(PY) ] || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(PY)

venv: $(PY)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

npm: node_modules/.package-lock.json

deps: venv npm

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

unit functional e2e: deps
	$(VENV)/bin/pytest tests/$@

templates: deps
	$(VENV)/bin/pytest tests/templates

# Every test and check: lint, types, the plugins' node tests, the infrastructure gates (which
# package every stage once), then pytest (unit, functional, templates reusing those packages,
# gates, localcloud, e2e on the local stack).
test: deps checkov-venv lint typecheck
	npm run -s test:plugins
	$(PY) -m gates all --out .package/gates
	DOCFLOW_PACKAGED_DIR=.package/gates $(VENV)/bin/pytest

package: deps
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SLS) package --stage $(STAGE) --package .package/$(STAGE)

# Infrastructure gates (issue 7, docs/operations.md): the config schema, every stage packaged
# and checked (cfn-lint, checkov, IAM/secret/dead-letter/retention/alarm/budget gates), then
# actionlint and zizmor on .github. `make stage-diff A=dev B=prod` prints two stages' differences.
.PHONY: gates stage-diff deploy checkov-venv
gates: deps checkov-venv
	$(PY) -m gates all --out .package/gates

stage-diff: venv
	$(PY) -m gates diff $(or $(A),dev) $(or $(B),prod)

deploy: deps
	$(PY) -m gates config $(STAGE)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DOCFLOW_PYTHON312="$(PYTHON312)" $(SLS) deploy --stage $(STAGE)

# checkov has its own venv: its dependencies conflict with moto's.
checkov-venv: .venv-checkov/bin/checkov
.venv-checkov/bin/checkov: requirements-checkov.txt
	@[ -x .venv-checkov/bin/python ] || $(PYTHON312) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

# The local stack: embedded AWS on loopback + `sls deploy --stage local` (again on a second run);
# writes .local/stack.json (endpoints, names, demo API keys). `make down` stops it.
up: deps
	$(PY) -m localcloud up

down:
	@if [ -x $(PY) ]; then $(PY) -m localcloud down; fi

demo: up
	$(PY) -m scripts.demo

bench: deps
	$(PY) -m bench.run

constraints:
	rm -rf /tmp/docflow-constraints && $(PYTHON312) -m venv /tmp/docflow-constraints
	/tmp/docflow-constraints/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Transitive pins for the dev environment; regenerate with make constraints."; \
	  /tmp/docflow-constraints/bin/pip freeze; } > constraints.txt

clean:
	rm -rf $(VENV) node_modules .serverless .local
