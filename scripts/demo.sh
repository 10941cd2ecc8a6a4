#!/usr/bin/env bash
# `make run` until the service exists: the CLI story on the bundled month of factory data.
# Uses DPL_HOME (default .dpl); running it again reuses the log (records are idempotent).
set -euo pipefail
DPL="${DPL:-dpl}"
STREAM="${DPL_DEMO_STREAM:-demo/line-a}"
SAMPLE="$(dirname "$0")/../ledger/samples/factory-month.jsonl"
OUT="${DPL_HOME:-.dpl}/demo"

step() { printf '\n== %s\n' "$*"; }

step "1. a log for the factory's line A (stream $STREAM)"
"$DPL" log show "$STREAM" >/dev/null 2>&1 || "$DPL" log create "$STREAM"
mkdir -p "$OUT"  # after dpl made DPL_HOME (private, 0700)

step "2. ingest 30 days of telemetry, work orders and sales orders"
"$DPL" ingest --log "$STREAM" "$SAMPLE"
"$DPL" log show "$STREAM"

step "3. prove one work order: record, salt and inclusion proof (dpl-proof/1)"
"$DPL" prove --log "$STREAM" --id WO-2026-00042 --out "$OUT/wo-42.proof.json"
head -c 700 "$OUT/wo-42.proof.json"; echo " ..."

step "4. anyone verifies it offline"
"$DPL" verify "$OUT/wo-42.proof.json"

step "5. a tampered copy (quantity changed) is refused"
sed 's/"qty_good": \([0-9]*\)/"qty_good": 9\1/' "$OUT/wo-42.proof.json" > "$OUT/wo-42.tampered.json"
if "$DPL" verify "$OUT/wo-42.tampered.json"; then echo "tampered bundle verified?!"; exit 1; fi

step "6. the log only grows: size 1000 is a prefix of today's log"
"$DPL" consistency --log "$STREAM" --from 1000 --out "$OUT/consistency.json"
"$DPL" verify "$OUT/consistency.json"
printf '\nDone. Files are in %s; see README.md for what to try next.\n' "$OUT"
