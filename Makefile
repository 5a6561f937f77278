# The project's front door. Every target installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install demo test test-unit synth chaos bench lint format clean

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

synth: $(STAMP) $(NODE_STAMP)
	JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 npx cdk synth --quiet $(ARGS)
	@echo "template written to cdk.out/"

chaos: $(STAMP)
	$(BIN)/chargeq chaos $(ARGS)

bench: $(STAMP)
	$(BIN)/chargeq bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions/charges chargeq infra app.py tools/stripe-emulator/stripe_emulator \
		tools/devtools/chargeq_local tools/devtools/chargeq_soak tools/devtools/chargeq_bench

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
