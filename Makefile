# data-pledge-ledger: `make test` and `make run` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DPL    := $(VENV)/bin/dpl
STAMP  := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp

.PHONY: install test run demo bench clean

# Create the venv if missing and (re)install the project with its test extras
# whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Solidity compiler (solcjs), OpenZeppelin and anvil, exactly as package-lock.json pins them.
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 18+) is needed for the contracts and the local chain"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

# Unit, storage (SQLite and a real PostgreSQL that scripts/test-postgres.sh starts), CLI, API,
# JavaScript verifier (node --test) and browser tests (Debian's Chromium, installed when missing).
# One worker per core (pytest-xdist), a test file to a worker (its module fixtures stay shared);
# TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto
test: $(STAMP) $(NPM_STAMP)
	@bash scripts/install-chromium.sh
	@url="$${DPL_TEST_DATABASE_URL:-$$(bash scripts/test-postgres.sh)}" && \
	  DPL_TEST_DATABASE_URL="$$url" $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The service on embedded defaults (SQLite + anvil) with demo factories, lenders, auditor and
# their API keys, and a pledge with covenants and an open warning (api/demo.py):
# http://127.0.0.1:8000 (Ctrl-C stops it and the chain).
run: $(STAMP) $(NPM_STAMP)
	@DPL="$(DPL)" PY="$(PY)" bash scripts/run.sh

# The same story through the command line: ingest, anchor, prove, verify, pledge, audit.
demo: $(STAMP) $(NPM_STAMP)
	@DPL="$(DPL)" bash scripts/demo.sh

# 1M records through ingest, roots, proofs, verifications, and peer libraries (~4 min).
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@test -x bench/.venv-peers/bin/python || { $(PYTHON) -m venv bench/.venv-peers && \
	  bench/.venv-peers/bin/pip install --quiet safe-pysha3 && \
	  bench/.venv-peers/bin/pip install --quiet --no-deps merkletools; }
	$(PY) bench/bench_log.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
