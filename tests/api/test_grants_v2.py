"""Grant reads on a ``dpl-record/2`` log (SQLite and PostgreSQL, real anvil): every record comes as
a ``dpl-partial-record/1`` disclosing ``id``, ``ts``, ``type`` and only the granted ``data``
fields, with its inclusion proof against the newest anchored checkpoint. The lender verifies the
answer in Python (``ledger.grant_read``) and in the browser's JavaScript with the same verdict;
the response bytes hold no hidden value, no record salt and no hidden field's salt."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger import jsonio, record2
from ledger.errors import BundleError
from ledger.grant_read import verify_grant_read
from tests.api.test_grants import SECRET, _make, _read, _records

ROOT = Path(__file__).resolve().parents[2]
_JS = """
import { readFileSync } from 'node:fs';
import { verifyGrantRead } from './api/web/static/js/verify/index.js';
const out = [];
for (const path of JSON.parse(process.argv[1])) {
  try {
    const v = await verifyGrantRead(readFileSync(path));
    out.push({ ok: true, proven: v.records.filter((r) => r[2]).map((r) => Number(r[0])), format: v.recordFormat });
  } catch (e) { out.push({ ok: false, error: e.message }); }
}
console.log(JSON.stringify(out));
"""


def _js(paths: list[Path]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    proc = subprocess.run([node, "--input-type=module", "-e", _JS, json.dumps([str(p) for p in paths])],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _python(raw: bytes) -> dict:
    try:
        v = verify_grant_read(jsonio.loads(raw, what="the answer"))
    except BundleError as e:
        return {"ok": False, "error": str(e)}
    return {"ok": True, "proven": [i for i, _, p in v.records if p], "format": v.record_format}


@pytest.fixture(scope="module")
def v2_log(world) -> str:
    log_id = world.ok("POST", "/v1/logs", "acme", 201, json={"stream": "grants/v2", "format": "dpl-record/2"})["log_id"]
    world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=_records())
    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    return log_id


def test_a_field_subset_read_on_v2_is_proven_and_hides_the_rest(world, v2_log, tmp_path):
    gid = _make(world, v2_log)["id"]  # work orders: product, qty_good; telemetry: every field
    r = _read(world, gid, v2_log)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["record_format"] == "dpl-record/2" and doc["notice"] is None
    assert doc["checkpoint"]["size"] == 30 and doc["checkpoint"]["root"] == world.ok("GET", f"/v1/logs/{v2_log}", "acme")["root"]
    assert [e["index"] for e in doc["records"]] == [i for i in range(24) if i % 3 != 2]

    # nothing hidden is in the bytes: not the values, not the record salts, not a hidden field's salt
    assert SECRET.encode() not in r.content and b"erp.sales_order" not in r.content
    store = world.client.app.state.services.store
    originals = _records()
    for e in doc["records"]:
        stored = store.record_at(doc["stream"], e["index"])
        assert stored.record == originals[e["index"]]
        assert stored.salt.hex().encode() not in r.content
        partial = e["partial"]
        shown = [f["name"] for f in partial["fields"]]
        if stored.record["type"] == "mes.work_order":
            assert shown == ["data.product", "data.qty_good", "id", "ts", "type"] and len(partial["hidden"]) == 1
            assert e["record"]["data"] == {"product": "BRK-220", "qty_good": 100 + e["index"]}
        else:
            assert partial["hidden"] == [] and e["record"] == stored.record
        for name in record2.field_names(stored.record):
            if name not in shown:
                assert record2.field_salt(stored.salt, name).hex().encode() not in r.content
        assert e["proven"] is True and "salt" not in e

    # the lender verifies every record against the checkpoint, in Python and in JS alike
    expected = {"ok": True, "proven": [e["index"] for e in doc["records"]], "format": "dpl-record/2"}
    good = tmp_path / "good.json"
    good.write_bytes(r.content)
    assert _python(r.content) == expected

    # altered answers fail, with the same words in both verifiers
    def altered(fn) -> bytes:
        d = copy.deepcopy(doc)
        fn(d)
        return json.dumps(d).encode()

    wo = next(n for n, e in enumerate(doc["records"]) if e["record"]["type"] == "mes.work_order")
    bad = [
        altered(lambda d: (d["records"][wo]["partial"]["fields"][1].update(value=999),  # qty_good inflated
                           d["records"][wo]["record"]["data"].update(qty_good=999))),
        altered(lambda d: d["records"][wo]["record"]["data"].update(qty_good=999)),  # record differs from partial
        altered(lambda d: d["records"][wo]["partial"]["hidden"].pop()),  # a commitment dropped
        altered(lambda d: d["records"][wo].update(index=d["records"][wo]["index"] + 1)),
        altered(lambda d: d["records"][wo].pop("partial")),
        altered(lambda d: d.pop("record_format")),  # read as v1: the proven records have no salt
        altered(lambda d: d["records"][1]["proof"].pop()),
        altered(lambda d: d["checkpoint"].update(root="0x" + "00" * 32)),
        altered(lambda d: d.update(record_format="dpl-record/5")),
    ]
    paths = [good]
    for k, raw in enumerate(bad):
        (tmp_path / f"bad{k}.json").write_bytes(raw)
        paths.append(tmp_path / f"bad{k}.json")
    py = [_python(p.read_bytes()) for p in paths]
    assert py[0] == expected and not any(v["ok"] for v in py[1:]), py
    assert py[1]["error"].endswith("the record does not hash to leaf_hash (a value, salt or commitment was altered)")
    assert _js(paths) == py


def test_a_v2_read_past_the_anchored_checkpoint_is_unproven_not_forged(world, v2_log):
    world.ok("POST", f"/v1/logs/{v2_log}/records", "acme",
             json=[{"id": "wo-late", "ts": "2026-11-01T09:00:00+08:00", "type": "mes.work_order",
                    "data": {"product": "BRK-220", "qty_good": 7, "customer": f"{SECRET}-late"}}])
    gid = _make(world, v2_log, records={"from": 28, "to": 40})["id"]
    r = _read(world, gid, v2_log, start=28, end=40)
    doc = r.json()
    assert SECRET.encode() not in r.content
    late = next(e for e in doc["records"] if e["index"] == 30)
    assert late["proven"] is False and late["proof"] is None and late["partial"]["index"] == 30
    v = verify_grant_read(jsonio.loads(r.content))
    assert [(i, p) for i, _, p in v.records] == [(e["index"], e["index"] < 30) for e in doc["records"]]
