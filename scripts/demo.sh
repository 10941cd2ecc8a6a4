#!/usr/bin/env bash
# `make run` until the service exists: the CLI story on the bundled month of factory data,
# on a local chain. Uses DPL_HOME (default .dpl); running it again reuses the log, the chain
# state and the deployment (records are idempotent, deploy is a no-op when deployed).
set -euo pipefail
DPL="${DPL:-dpl}"
STREAM="${DPL_DEMO_STREAM:-demo/line-a}"
PORT="${DPL_DEMO_PORT:-8545}"
export DPL_RPC_URL="${DPL_RPC_URL:-http://127.0.0.1:$PORT}"
SAMPLE="$(dirname "$0")/../ledger/samples/factory-month.jsonl"
OUT="${DPL_HOME:-.dpl}/demo"

step() { printf '\n== %s\n' "$*"; }

step "1. a log for the factory's line A (stream $STREAM)"
"$DPL" log show "$STREAM" >/dev/null 2>&1 || "$DPL" log create "$STREAM"
mkdir -p "$OUT"  # after dpl made DPL_HOME (private, 0700)

step "2. ingest 30 days of telemetry, work orders and sales orders"
"$DPL" ingest --log "$STREAM" "$SAMPLE"

step "3. a local chain (anvil, state kept in DPL_HOME), dev keys, the registry"
"$DPL" chain up --port "$PORT"
trap '"$DPL" chain down >/dev/null' EXIT
"$DPL" keys import-dev >/dev/null
"$DPL" deploy

step "4. the factory (dev1) signs the checkpoint; the relayer (dev0) anchors it"
"$DPL" anchor --log "$STREAM"
"$DPL" log show "$STREAM"

step "5. prove one work order: record, salt, inclusion proof, anchor (dpl-proof/1)"
"$DPL" prove --log "$STREAM" --id WO-2026-00042 --out "$OUT/wo-42.proof.json"
head -c 400 "$OUT/wo-42.proof.json"; echo " ..."

step "6. anyone verifies it: offline, then against the chain"
"$DPL" verify "$OUT/wo-42.proof.json"
"$DPL" verify "$OUT/wo-42.proof.json" --rpc "$DPL_RPC_URL"

step "7. a tampered copy (quantity changed) is refused"
sed 's/"qty_good": \([0-9]*\)/"qty_good": 9\1/' "$OUT/wo-42.proof.json" > "$OUT/wo-42.tampered.json"
if "$DPL" verify "$OUT/wo-42.tampered.json"; then echo "tampered bundle verified?!"; exit 1; fi

step "8. the log only grows: size 1000 is a prefix of today's log"
"$DPL" consistency --log "$STREAM" --from 1000 --out "$OUT/consistency.json"
"$DPL" verify "$OUT/consistency.json"

step "9. an auditor checks every anchor and every stored record against the chain"
"$DPL" audit
printf '\nDone. Files are in %s; the chain stops now (its state is kept). See README.md.\n' "$OUT"
