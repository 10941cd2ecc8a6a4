#!/usr/bin/env bash
# `make run`: a local chain (anvil, state kept under DPL_HOME), the registry, a demo factory
# with a month of production data anchored, two approved lenders, an auditor and an admin
# with API keys (DPL_HOME/demo-keys.json, 0600), then the API and landing page on
# http://127.0.0.1:8000. Ctrl-C stops the service and the chain; running again reuses all.
set -euo pipefail
DPL="${DPL:-dpl}"
PY="${PY:-python3}"
CHAIN_PORT="${DPL_DEMO_PORT:-8545}"
API_PORT="${DPL_API_PORT:-8000}"
export DPL_RPC_URL="${DPL_RPC_URL:-http://127.0.0.1:$CHAIN_PORT}"
export DPL_HOME="${DPL_HOME:-.dpl}"

"$DPL" chain up --port "$CHAIN_PORT"
trap '"$DPL" chain down >/dev/null || true' EXIT
"$DPL" keys import-dev >/dev/null
"$DPL" deploy
"$PY" -m api.demo
cat <<MSG

Serving http://127.0.0.1:$API_PORT  (API docs: /docs; keys: $DPL_HOME/demo-keys.json)
  curl -H "Authorization: Bearer \$(python3 -c 'import json;print(json.load(open("$DPL_HOME/demo-keys.json"))["factory"])')" \\
       http://127.0.0.1:$API_PORT/v1/logs
Ctrl-C stops the service and the chain (their state is kept).
MSG
"$DPL" serve --host 127.0.0.1 --port "$API_PORT"
