"""A lender's verdict on a profile and its full disclosure: the browser's
``verify/profile_verify.js`` gives ``ledger.profile_verify.verify_profile``'s verdict, check by
check, in the same words, with the same differing figures.

The corpus: a good profile of a factory's records (IoT, MES and ERP, two sub-ranges), a figure
inflated, many figures changed (the line names 20 and counts the rest), a figure removed and one
written as a float, a record of the disclosure altered, the profile of another range, of another
stream, not a profile at all, and a profile whose parameters differ from the disclosure's.
Both run in one node process (``tests/js/profile_verify_runner.mjs``). Node is required (no skip).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from ledger import jsonio, merkle
from ledger.disclosure import disclosure_chunks
from ledger.profile import build_profile
from ledger.profile_verify import verify_profile
from ledger.records import prepare_record
from ledger.synthetic import factory_month

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "js" / "profile_verify_runner.mjs"
LOG_ID = bytes(range(32))
STREAM = "line-a/all"
ANCHOR = {"chain_id": 31337, "registry": "0x" + "ab" * 20, "tx_hash": "0x" + "cd" * 32, "block_number": 9}


def _log(days: int = 10):
    records = list(factory_month(days=days))
    salts = [hashlib.sha256(b"salt/%d" % i).digest() for i in range(len(records))]
    canon = [prepare_record(r, i).canonical for i, r in enumerate(records)]
    leaves = [merkle.leaf_hash(s + c) for s, c in zip(salts, canon)]
    return records, salts, canon, leaves


RECORDS, SALTS, CANON, LEAVES = _log()
N = len(RECORDS)


def disclosure(start: int, end: int, stream: str = STREAM) -> bytes:
    left, right = merkle.range_proof(LEAVES, start, end)
    return b"".join(disclosure_chunks(
        log_id=LOG_ID, stream=stream, start=start, end=end, size=N, root=merkle.root(LEAVES), anchor=ANCHOR,
        left=left, right=right, entries=((i, SALTS[i], CANON[i]) for i in range(start, end))))


def profile(start: int, end: int, *, stream: str = STREAM, tz: str = "+08:00", **params) -> dict:
    records = ((i, jsonio.loads(CANON[i])) for i in range(start, end))
    return build_profile(records, log_id=LOG_ID, stream=stream, start=start, end=end, checkpoint_size=N,
                         checkpoint_root=merkle.root(LEAVES), tz=tz, **params)


#: A mapping that reads the planned quantity as the good one, and thresholds that silence the
#: cross-source flags: the figures recompute identically (SOUND), so the verdict must say so.
CHOSEN = {"mapping": {"format": "dpl-mapping/1", "types": {"mes.work_order": {"fields": {"qty_good": "qty_planned"}},
                                                          "erp.sales_order": {"type": "erp.order\u202e"}}},
          "thresholds": {"max_mismatch": "0.999999", "max_worst_mismatch": "1.000000", "max_gap_s": 600}}


def _changed(p: dict, change) -> bytes:
    p = copy.deepcopy(p)
    change(p)
    return orjson.dumps(p)


def _many(p: dict) -> None:
    for day in p["daily"]:
        for key in ("records", "mes_good", "mes_scrap", "iot_parts"):
            day[key] += 7
    for machine in p["iot"]["machines"].values():
        machine["readings"] += 1
        machine["running"] += 1


def _numbered_names() -> tuple[bytes, bytes]:
    """A profile whose customers of EUR are named "b", "10" and "a", with their object removed,
    and the disclosure of its records: the differing figure is that object, written the same way
    by both (the browser put "10" first, as JS orders integer-like keys; Python in arrival order)."""
    records = [{"id": f"s{i}", "ts": f"2026-01-0{i + 1}T10:00:00Z", "type": "erp.sales_order",
                "data": {"customer": name, "currency": "EUR", "amount_minor": 40 + i}}
               for i, name in enumerate(["b", "10", "a"])]
    salts = [hashlib.sha256(b"n/%d" % i).digest() for i in range(3)]
    canon = [prepare_record(r, i).canonical for i, r in enumerate(records)]
    leaves = [merkle.leaf_hash(s + c) for s, c in zip(salts, canon)]
    left, right = merkle.range_proof(leaves, 0, 3)
    doc = b"".join(disclosure_chunks(log_id=LOG_ID, stream=STREAM, start=0, end=3, size=3, root=merkle.root(leaves),
                                     anchor=ANCHOR, left=left, right=right,
                                     entries=((i, salts[i], canon[i]) for i in range(3))))
    p = build_profile(((i, jsonio.loads(canon[i])) for i in range(3)), log_id=LOG_ID, stream=STREAM, start=0, end=3,
                      checkpoint_size=3, checkpoint_root=merkle.root(leaves))
    return _changed(p, lambda q: q["sales"]["by_currency"]["EUR"].pop("by_customer")), doc


def _corpus() -> list[tuple[str, bytes, bytes]]:
    whole, part = profile(0, N), profile(40, 250)
    d_whole, d_part = disclosure(0, N), disclosure(40, 250)
    text = orjson.dumps
    altered = json.loads(d_part.decode())
    altered["records"][5]["record"]["data"]["qty_good"] = 10**6
    return [
        ("good, whole log", text(whole), d_whole),
        ("good, part of the log", text(part), d_part),
        ("good, with a mapping and thresholds the factory chose", text(profile(40, 250, **CHOSEN)), d_part),
        ("inflated output", _changed(part, lambda p: p["mes"].update(qty_good=p["mes"]["qty_good"] + 1000)), d_part),
        ("inflated sales", _changed(part, lambda p: next(iter(p["sales"]["by_currency"].values())).update(amount_minor=10**9)), d_part),
        ("many figures changed", _changed(part, _many), d_part),
        ("a figure removed", _changed(part, lambda p: p["coverage"].pop("longest_gap_s")), d_part),
        ("a figure as a float", text(part).replace(b'"records":210', b'"records":210.0', 1), d_part),
        ("a flag removed", _changed(part, lambda p: p["flags"].pop()), d_part),
        ("altered record", text(part), orjson.dumps(altered)),
        ("mismatched range", text(profile(40, 249)), d_part),
        ("another stream", text(profile(40, 250, stream="line-b/all")), d_part),
        ("another offset", _changed(part, lambda p: p.update(tz="+00:00")), d_part),
        ("a threshold of 5,000 digits", _changed(part, lambda p: p["thresholds"].update(temp_c_max="1" * 5000)), d_part),
        ("a ratio threshold of 5,000 digits",
         _changed(part, lambda p: p["thresholds"].update(min_utilization="9" * 5000 + ".000000")), d_part),
        ("a disclosure of a log not yet bound", text(part),
         d_part.replace(b'"log_id":"0x' + LOG_ID.hex().encode() + b'"', b'"log_id":null', 1)),
        ("an object of integer-like names removed", *_numbered_names()),
        ("not a profile", b'{"format": "dpl-profile/0"}', d_part),
        ("profile not JSON", b"[1, 2", d_part),
    ]


def _python(profile_raw: bytes, disclosure_raw: bytes) -> dict:
    try:
        p = jsonio.loads(profile_raw, what="the profile")
    except Exception as e:  # noqa: BLE001 -- the JS side reads the same text: compare what both say
        return {"unreadable": str(e)}
    return json.loads(json.dumps(verify_profile(p, jsonio.loads(disclosure_raw)).as_json()))


def test_js_gives_pythons_verdicts_words_and_figures(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    corpus = _corpus()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"profile": p.hex(), "disclosure": d.hex()} for _, p, d in corpus]))
    proc = subprocess.run([node, str(RUNNER), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)
    assert len(js) == len(corpus)
    verdicts = {name: _python(p, d) for name, p, d in corpus}
    # the corpus means what it says (Python's side)
    assert verdicts["good, whole log"]["sound"] and verdicts["good, part of the log"]["sound"]
    chosen = verdicts["good, with a mapping and thresholds the factory chose"]
    assert chosen["sound"]  # the verdict recomputes with them: it must name them
    assert chosen["checks"][0]["detail"].endswith(
        "; read with the factory's mapping: erp.sales_order (type 'erp.order\\u202e'); mes.work_order "
        "(qty_good <- 'qty_planned'); flags at thresholds the factory chose: max_gap_s 600 (default 21600), "
        "max_worst_mismatch 1.000000 (default 0.100000), max_mismatch 0.999999 (default 0.050000)")
    assert verdicts["good, part of the log"]["checks"][0]["detail"].endswith("at size 1165")
    assert verdicts["an object of integer-like names removed"]["checks"][-1]["detail"] == (
        '1 figure(s) differ from the records: sales.by_currency.EUR.by_customer: claimed (absent), '
        'recomputed {"10":41,"a":42,"b":40}')  # keys in code point order, on both sides
    assert [c["name"] for c in verdicts["good, part of the log"]["checks"]] == ["profile", "disclosure", "same range", "figures"]
    for name in [n for n, _, _ in corpus if not n.startswith("good") and n != "profile not JSON"]:
        assert not verdicts[name]["sound"], name
    assert verdicts["inflated output"]["differences"][0]["figure"] == "mes.qty_good"
    assert "(and " in verdicts["many figures changed"]["checks"][-1]["detail"]
    assert verdicts["altered record"]["checks"][-1]["name"] == "disclosure"
    assert verdicts["mismatched range"]["checks"][-1]["name"] == "same range"
    assert verdicts["a disclosure of a log not yet bound"]["checks"][-1]["detail"].startswith(
        "the profile and the disclosure differ in log_id:")  # was an AttributeError (to_hex(None))
    assert "at most 40 characters" in verdicts["a threshold of 5,000 digits"]["checks"][0]["detail"]
    for (name, _, _), got in zip(corpus, js):
        if "unreadable" in verdicts[name]:
            assert not got["sound"] and got["checks"][0]["name"] == "profile", name
            continue
        assert got == verdicts[name], name
