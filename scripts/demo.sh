#!/usr/bin/env bash
# `make run` until the service exists: the CLI story on the bundled month of factory data,
# on a local chain, from ingest to a pledge verified by a second lender and released.
# Uses DPL_HOME (default .dpl); running it again reuses the log, the chain state and the
# deployment (records are idempotent, deploy is a no-op when deployed) and pledges anew.
set -euo pipefail
DPL="${DPL:-dpl}"
STREAM="${DPL_DEMO_STREAM:-demo/line-a}"
PORT="${DPL_DEMO_PORT:-8545}"
export DPL_RPC_URL="${DPL_RPC_URL:-http://127.0.0.1:$PORT}"
SAMPLE="$(dirname "$0")/../ledger/samples/factory-month.jsonl"
# a second factory (dev4) whose MES over-reports press-07 by 40 % on 8-10 October
BOLT="${DPL_DEMO_STREAM_B:-bolt/line-1}"
SAMPLE_B="$(dirname "$0")/../ledger/samples/factory-month-overreport.jsonl"
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

step "6. the registry admin (dev0) lists the factory (dev1) in the directory; anyone verifies the bundle:
offline, then against the chain (the registry pinned in DPL_HOME, the factory read from it)"
"$DPL" factories set dev1 --name "ACME Precision Co." --registration 91310000MA1FL0000X
"$DPL" verify "$OUT/wo-42.proof.json"
"$DPL" verify "$OUT/wo-42.proof.json" --rpc "$DPL_RPC_URL"

step "7. a tampered copy (quantity changed) is refused"
sed 's/"qty_good": \([0-9]*\)/"qty_good": 9\1/' "$OUT/wo-42.proof.json" > "$OUT/wo-42.tampered.json"
if "$DPL" verify "$OUT/wo-42.tampered.json"; then echo "tampered bundle verified?!"; exit 1; fi

step "8. the log only grows: size 1000 is a prefix of today's log"
"$DPL" consistency --log "$STREAM" --from 1000 --out "$OUT/consistency.json"
"$DPL" verify "$OUT/consistency.json"

step "9. an admin approves two lenders: A (dev2) and B (dev3)"
"$DPL" lenders add dev2
"$DPL" lenders add dev3
# A pledge left live by an interrupted earlier run would block the range: its holder releases it.
"$DPL" pledge list --log "$STREAM" --json | python3 -c '
import json, sys
keys = {"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC": "dev2", "0x90F79bf6EB2c4f870365E785982E1f101E93b906": "dev3"}
for p in json.load(sys.stdin):
    if p["status"] == "live" and p["holder"] in keys:
        print(p["token_id"], keys[p["holder"]])' | while read -r token key; do
  "$DPL" pledge release "$token" --key "$key"
done

step "10. the factory (dev1) describes records [0, 1000) as a data asset and consents to pledge it to A"
"$DPL" asset create --log "$STREAM" --from 0 --to 1000 --json | python3 -c '
import json, sys; d = json.load(sys.stdin); m = d["manifest"]
print("asset digest", d["asset_digest"]); print("records", m["records"], "from", m["period"]["first_ts"], "to", m["period"]["last_ts"])
for t, v in m["types"].items(): print(" ", t, v["count"])'
"$DPL" pledge consent --log "$STREAM" --from 0 --to 1000 --lender dev2 --principal 50000000 --currency CNY \
  --maturity "$(date -u -d '+180 days' +%F)" --lien-end "$(date -u -d '+365 days' +%F)" --samples 20 \
  --loan-ref "LN-DEMO-0001" --out "$OUT/consent.json"

step "11. lender A issues the pledge (an ERC-721 token it holds); a second pledge of the range is refused"
TOKEN="$("$DPL" pledge issue "$OUT/consent.json" --key dev2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token_id"])')"
"$DPL" pledge show "$TOKEN"
if "$DPL" pledge issue "$OUT/consent.json" --key dev2; then echo "a consent was used twice?!"; exit 1; fi

step "12. A transfers it to B (dev4 is not an approved lender: refused)"
if "$DPL" pledge transfer "$TOKEN" --to dev4 --key dev2; then echo "transfer to a non-lender?!"; exit 1; fi
"$DPL" pledge transfer "$TOKEN" --to dev3 --key dev2

step "13. the factory hands B a collateral bundle; B checks it against the chain"
"$DPL" pledge bundle "$TOKEN" --out "$OUT/collateral.json"
"$DPL" pledge verify "$TOKEN" --bundle "$OUT/collateral.json" --rpc "$DPL_RPC_URL"
python3 -c 'import json, sys; b = json.load(open(sys.argv[1])); b["entries"][0]["record"]["id"] += "-x"
json.dump(b, open(sys.argv[2], "w"))' "$OUT/collateral.json" "$OUT/collateral.tampered.json"
if "$DPL" pledge verify "$TOKEN" --bundle "$OUT/collateral.tampered.json" >/dev/null; then
  echo "tampered collateral verified?!"; exit 1
fi
echo "(a copy with one sampled record changed is NOT SOUND)"

step "14. the loan is repaid: A may no longer act, B releases the pledge"
if "$DPL" pledge release "$TOKEN" --key dev2; then echo "release by a non-holder?!"; exit 1; fi
"$DPL" pledge release "$TOKEN" --key dev3
"$DPL" pledge list --log "$STREAM"

step "15. a second factory, Bolt (dev4): its own log, anchored with its key, listed in the directory.
Its MES over-reports press-07 on 8-10 October: the IoT counters and the work orders disagree there"
"$DPL" log show "$BOLT" >/dev/null 2>&1 || "$DPL" log create "$BOLT" --factory dev4
"$DPL" ingest --log "$BOLT" "$SAMPLE_B"
"$DPL" anchor --log "$BOLT"
"$DPL" factories set dev4 --name "Bolt Fasteners Ltd." --registration 91440300MA5G2B7K4Y
SIZE_B="$("$DPL" log show "$BOLT" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])')"
"$DPL" profile build --log "$BOLT" --from 0 --to "$SIZE_B" --tz +08:00 --out "$OUT/bolt.profile.json"
python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["flags"]: print(" ", f["code"] + ":", f["message"])' "$OUT/bolt.profile.json"

step "16. Bolt discloses the whole range to lender A, who recomputes every figure and checks the root
against the chain: SOUND (the records are genuine) - and the flag above is what they say"
"$DPL" disclose --log "$BOLT" --from 0 --to "$SIZE_B" --out "$OUT/bolt.disclosure.json"
"$DPL" profile verify "$OUT/bolt.profile.json" --disclosure "$OUT/bolt.disclosure.json" --rpc "$DPL_RPC_URL"

step "17. an auditor checks every anchor and every stored record against the chain"
"$DPL" audit
printf '\nDone. Files are in %s; the chain stops now (its state is kept). See README.md.\n' "$OUT"
