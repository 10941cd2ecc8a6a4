#!/usr/bin/env bash
# `make run`: a local chain (anvil, state kept under DPL_HOME), the registry, two demo factories
# with a month of production data anchored (bolt's MES over-reports one machine), two approved
# lenders, an auditor and an admin with API keys (DPL_HOME/demo-keys.json, 0600), bolt's pledge to
# bank-a with covenants and an open warning (api/demo.py), then the web
# UI and the API on http://127.0.0.1:8000. Ctrl-C stops the service and the chain; running again reuses all.
set -euo pipefail
DPL="${DPL:-dpl}"
PY="${PY:-python3}"
CHAIN_PORT="${DPL_DEMO_PORT:-8545}"
API_PORT="${DPL_API_PORT:-8000}"
export DPL_RPC_URL="${DPL_RPC_URL:-http://127.0.0.1:$CHAIN_PORT}"
export DPL_HOME="${DPL_HOME:-.dpl}"
# Each anchoring round also publishes C2SP checkpoints and tiles here, served at /tiles/ (docs/TILES.md).
export DPL_PUBLISH_DIR="${DPL_PUBLISH_DIR:-$DPL_HOME/tiles}"

"$DPL" chain up --port "$CHAIN_PORT"
trap '"$DPL" chain down >/dev/null || true' EXIT
"$DPL" keys import-dev >/dev/null
"$DPL" deploy
"$PY" -m api.demo
"$DPL" publish --out "$DPL_PUBLISH_DIR" >/dev/null
cat <<MSG

Serving http://127.0.0.1:$API_PORT  — open it and sign in with one of these demo keys
(also in $DPL_HOME/demo-keys.json, mode 0600):
MSG
"$PY" - "$DPL_HOME/demo-keys.json" <<'PY'
import json, sys
roles = {"factory": "factory acme", "factory_b": "factory bolt", "lender_a": "lender bank-a", "lender_b": "lender bank-b",
         "auditor": "auditor", "admin": "admin"}
for slot, key in json.load(open(sys.argv[1])).items():
    print(f"  {roles.get(slot, slot):<14} {key}")
PY
cat <<MSG
API docs: http://127.0.0.1:$API_PORT/docs (the same keys as Authorization: Bearer KEY).
Published tiles: http://127.0.0.1:$API_PORT/tiles/<log id>/ (from $DPL_PUBLISH_DIR; any static server
can serve that directory): the /verify page's "Published tiles URL", or dpl verify --tiles URL --rpc $DPL_RPC_URL.
Ctrl-C stops the service and the chain (their state is kept).
MSG
"$DPL" serve --host 127.0.0.1 --port "$API_PORT"
