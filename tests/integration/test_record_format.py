"""A ``dpl-record/2`` log end to end on a real anvil, through the dpl command line, on SQLite and
PostgreSQL: created with ``--format dpl-record/2``, ingested, anchored; a record proved and its
bundle verified in Python (against the chain) and in the browser's JavaScript; a full disclosure
verified with ``dpl profile verify``; the audit clean. A ``dpl-record/1`` log beside it is
unchanged (its bundles do not name a format)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger import merkle, record2
from ledger.records import prepare_record
from tests.integration.test_anchoring import DPL, SAMPLE, dpl, env  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
V2, V1 = "line-a/mes2", "line-a/mes1"
_JS = """
import { readFileSync } from 'node:fs';
import { verifyBundle, verifyDisclosure } from './api/web/static/js/verify/index.js';
const out = [];
for (const [kind, path] of JSON.parse(process.argv[1])) {
  const text = readFileSync(path, 'utf8');
  if (kind === 'proof') {
    const r = await verifyBundle(text);
    out.push({ sound: r.sound, error: r.error });
  } else {
    try { const d = await verifyDisclosure(text); out.push({ sound: true, error: null, n: d.records.length }); }
    catch (e) { out.push({ sound: false, error: e.message }); }
  }
}
console.log(JSON.stringify(out));
"""


def _js(files: list[tuple[str, Path]]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    proc = subprocess.run([node, "--input-type=module", "-e", _JS, json.dumps([[k, str(p)] for k, p in files])],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_v2_log_end_to_end(env):
    # once, on SQLite (the slowest end-to-end story runs once, not per backend): the v2 store on
    # PostgreSQL is covered by tests/api/test_log_format.py, test_grants_v2.py and tests/store
    tmp = env["tmp"]
    dpl(env, "keys", "import-dev")
    dpl(env, "deploy")
    assert "dpl-record/2" in dpl(env, "log", "create", V2, "--format", "dpl-record/2")[1]
    dpl(env, "log", "create", V1)
    _, _, err = dpl(env, "log", "create", "line-x", "--format", "dpl-record/9", ok=False)
    assert err.strip().count("\n") == 0 and "unknown record format 'dpl-record/9'" in err
    assert json.loads(dpl(env, "log", "show", V2, "--json")[1])["format"] == "dpl-record/2"
    listed = {d["stream"]: d["format"] for d in json.loads(dpl(env, "log", "list", "--json")[1])}
    assert listed == {V2: "dpl-record/2", V1: "dpl-record/1"}
    for stream in (V2, V1):
        dpl(env, "ingest", "--log", stream, str(SAMPLE))
    dpl(env, "ingest", "--log", V2, str(SAMPLE))  # again: every record a duplicate, nothing appended
    v2_info = json.loads(dpl(env, "log", "show", V2, "--json")[1])
    v1_info = json.loads(dpl(env, "log", "show", V1, "--json")[1])
    assert v2_info["size"] == v1_info["size"] == 3495
    assert v2_info["root"] != v1_info["root"]  # the same records, other leaves
    dpl(env, "anchor")

    # a record proved: the bundle names the format; Python (with the chain) and JS accept it
    bundle = tmp / "v2.json"
    dpl(env, "prove", "--log", V2, "--id", "WO-2026-00042", "--out", str(bundle))
    doc = json.loads(bundle.read_text())
    assert doc["record_format"] == "dpl-record/2"
    [entry] = doc["entries"]
    salt = bytes.fromhex(entry["salt"][2:])
    assert entry["leaf_hash"] == "0x" + record2.leaf_hash_v2(entry["record"], salt).hex()
    _, out, _ = dpl(env, "verify", str(bundle), "--rpc", env["rpc"])
    assert out.startswith("valid:") and "anchored on chain 31337" in out
    v1_bundle = tmp / "v1.json"
    dpl(env, "prove", "--log", V1, "--id", "WO-2026-00042", "--out", str(v1_bundle))
    v1_doc = json.loads(v1_bundle.read_text())
    assert "record_format" not in v1_doc  # v1 bundles as they always were
    [v1_entry] = v1_doc["entries"]
    assert v1_entry["leaf_hash"] == "0x" + merkle.leaf_hash(
        bytes.fromhex(v1_entry["salt"][2:]) + prepare_record(v1_entry["record"], 0).canonical).hex()
    assert dpl(env, "verify", str(v1_bundle), "--rpc", env["rpc"])[1].startswith("valid:")

    # the format named otherwise: refused, by both verifiers, in the same words
    as_v1 = dict(doc)
    del as_v1["record_format"]
    (tmp / "as_v1.json").write_text(json.dumps(as_v1))
    _, _, err = dpl(env, "verify", str(tmp / "as_v1.json"), ok=False)
    assert "record and salt do not hash to leaf_hash" in err
    as_v2 = dict(v1_doc, record_format="dpl-record/2")
    (tmp / "as_v2.json").write_text(json.dumps(as_v2))
    _, _, err2 = dpl(env, "verify", str(tmp / "as_v2.json"), ok=False)
    assert "record and salt do not hash to leaf_hash" in err2

    # a full disclosure of the v2 log and its profile: SOUND against the chain
    dpl(env, "profile", "build", "--log", V2, "--from", "0", "--to", "3495", "--tz", "+08:00",
        "--out", str(tmp / "p.json"))
    dpl(env, "disclose", "--log", V2, "--from", "0", "--to", "3495", "--out", str(tmp / "d.json"))
    disclosure = json.loads((tmp / "d.json").read_text())
    assert disclosure["record_format"] == "dpl-record/2" and len(disclosure["records"]) == 3495
    proc = subprocess.run([DPL, "profile", "verify", str(tmp / "p.json"), "--disclosure",
                           str(tmp / "d.json"), "--rpc", env["rpc"]], env=env["env"], capture_output=True,
                          timeout=300, cwd=tmp)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert "PASS  anchor: anchored on chain 31337" in out and out.rstrip().endswith("profile SOUND")
    # the same profile figures as the v1 log's (the records are the same)
    dpl(env, "profile", "build", "--log", V1, "--from", "0", "--to", "3495", "--tz", "+08:00",
        "--out", str(tmp / "p1.json"))
    p2, p1 = json.loads((tmp / "p.json").read_text()), json.loads((tmp / "p1.json").read_text())
    assert p2["mes"] == p1["mes"] and p2["daily"] == p1["daily"]

    js = _js([("proof", bundle), ("proof", v1_bundle), ("proof", tmp / "as_v1.json"), ("proof", tmp / "as_v2.json"),
              ("disclosure", tmp / "d.json")])
    assert [r["sound"] for r in js] == [True, True, False, False, True]
    assert js[2]["error"] in err and js[3]["error"] in err2 and js[4]["n"] == 3495

    report = json.loads(dpl(env, "audit", "--json")[1])
    assert report["clean"], report["findings"]
    assert report["records"] == 2 * 3495


def test_a_pledge_of_a_v2_log_is_sampled_and_verified_by_its_format(env):
    """The pledge story's collateral check on a ``dpl-record/2`` log (SQLite): the collateral
    bundle names the format, ``dpl pledge verify`` rebuilds v2 leaves and says SOUND; the same
    bundle read as v1 fails every sample's leaf; the audit, pledges included, is clean."""
    from tests.integration.test_pledges import DAY, _consent, _issue, _now, _verify

    dpl(env, "keys", "import-dev")
    dpl(env, "deploy")
    dpl(env, "log", "create", "line-a/mes", "--format", "dpl-record/2")
    dpl(env, "ingest", "--log", "line-a/mes", str(SAMPLE))
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    now = _now(env)
    token = _issue(env, _consent(env, "v2", 100, 900, maturity=now + 30 * DAY, lien_end=now + 60 * DAY, samples=12))
    path = env["tmp"] / "collateral.json"
    dpl(env, "pledge", "bundle", str(token), "--out", str(path))
    bundle = json.loads(path.read_text())
    assert bundle["record_format"] == "dpl-record/2" and len(bundle["entries"]) == 12
    code, out = _verify(env, token, bundle, "sound")
    assert code == 0 and "collateral SOUND" in out and "FAIL" not in out, out
    as_v1 = {k: v for k, v in bundle.items() if k != "record_format"}
    code, out = _verify(env, token, as_v1, "as-v1")
    assert code == 1 and out.count(": leaf hash") >= 12 and "record and salt do not hash to leaf_hash" in out
    report = json.loads(dpl(env, "audit", "--json")[1])
    assert report["clean"] and report["pledges"] == 1, report
