# The project's front door. Every target installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov in a venv of its own (requirements-scan.txt says why).
SCAN_VENV  := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
# Where `make lint` synthesizes the template it checks (the dev stage, cdk.json's context).
LINT_OUT   := cdk.out/lint

# jsii prints a banner, mangled into Python byte strings, when Node.js is past its end of
# life; the CDK still runs there. Say it once, in one line, and silence the banner.
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(NODE_MAJOR)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := $(NODE_MAJOR)
NODE_NOTE  := test "$(NODE_MAJOR)" -ge 22 2>/dev/null || \
	echo "note: Node.js $$(node --version) is past its end of life; the CDK runs on it, but install Node.js 22 or 24"

.PHONY: install demo test test-unit synth deploy chaos bench verify lint format clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt functions/requirements.txt pyproject.toml \
		tools/stripe-emulator/pyproject.toml tools/devtools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# The product, then its development tools (the Stripe emulator, the local runtime, the
	# soak and the benchmark), each its own distribution.
	$(BIN)/pip install --quiet --no-deps -e . -e tools/stripe-emulator -e tools/devtools
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP)
	$(BIN)/chargeq demo $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit $(ARGS)

$(SCAN_STAMP): requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/pip install --quiet -r requirements-scan.txt
	touch $@

synth: $(STAMP) $(NODE_STAMP)
	@$(NODE_NOTE)
	npx cdk synth --quiet $(ARGS)
	@echo "template written to cdk.out/"

# make deploy STAGE=prod [ARGS="-c chargeq:alarm_email=oncall@example.com"]
deploy: $(STAMP) $(NODE_STAMP)
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=<stage> [ARGS='-c chargeq:<key>=<value>']" >&2; exit 2; }
	@$(NODE_NOTE)
	npx cdk deploy -c chargeq:stage=$(STAGE) $(ARGS)

chaos: $(STAMP)
	$(BIN)/chargeq chaos $(ARGS)

bench: $(STAMP)
	$(BIN)/chargeq bench $(ARGS)

# The charge protocol's Promela model, checked exhaustively with SPIN (docs/protocol.md).
verify: $(STAMP)
	command -v spin >/dev/null || { sudo -n true 2>/dev/null && SUDO=sudo; \
		$$SUDO apt-get install -y -qq spin || { $$SUDO apt-get update -qq && \
		$$SUDO apt-get install -y -qq spin; }; }
	$(BIN)/python -m chargeq_model $(ARGS)

lint: $(STAMP) $(NODE_STAMP) $(SCAN_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions/charges functions/ledger functions/outbox functions/outcome_events \
		functions/pending_check functions/webhooks chargeq infra app.py \
		tools/stripe-emulator/stripe_emulator \
		tools/devtools/chargeq_local tools/devtools/chargeq_soak tools/devtools/chargeq_bench \
		tools/devtools/chargeq_model tests
	@# The template as `make synth` writes it, then cfn-lint (.cfnlintrc.yaml) and checkov on
	@# it; a check that does not apply is skipped in the template's metadata, with its reason.
	rm -rf $(LINT_OUT)
	npx cdk synth --quiet --output $(LINT_OUT)
	$(BIN)/cfn-lint
	$(SCAN_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		--file $(LINT_OUT)/*.template.json

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(SCAN_VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
