"""dpl-record/2: the browser (verify/record2.js) computes Python's leaves and gives its verdicts.

Every vector of tests/vectors/record2/, random records (valid and not) hashed as v2 leaves,
random choices of disclosed fields, and random alterations of the partial records go through
``ledger.record2`` and, in one node run (``tests/js/record2_runner.mjs``), through
``verify/record2.js``: leaf hashes, the documents ``disclose`` writes (their RFC 8785 bytes),
what a partial record proves and every refusal's words must be equal. Node is required (no skip).
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger import jsonio, record2
from ledger.canonical import canonicalize
from ledger.errors import BundleError, InvalidArgumentError, RecordError
from ledger.records import prepare_record
from ledger.synthetic import factory_month
from tests.web.test_js_verifier import _random_json, _random_record

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "js" / "record2_runner.mjs"
VECTORS = ROOT / "tests" / "vectors" / "record2"


def _text(value) -> str:
    return json.dumps(value)  # ASCII: lone surrogates and every float survive the trip


def _python(case: dict) -> dict:
    try:
        if case["kind"] == "leaf":
            record = jsonio.parse_checked(case["record"].encode(), "record", 64, keep_constants=True)
            return {"leaf": "0x" + record2.leaf_hash_v2(record, bytes.fromhex(case["salt"][2:])).hex()}
        if case["kind"] == "disclose":
            record = jsonio.parse_checked(case["record"].encode(), "record", 64, keep_constants=True)
            doc = record2.disclose(record, bytes.fromhex(case["salt"][2:]), case["fields"], index=case["index"])
            return {"doc": "0x" + canonicalize(doc).hex()}
        try:
            doc = jsonio.loads(case["text"].encode(), what="the partial record")
        except jsonio.JsonInputError as e:
            return {"error": str(e)}
        v = record2.verify_partial(doc)
        return {"index": str(v.index), "leaf": "0x" + v.leaf_hash.hex(), "record": "0x" + canonicalize(v.record).hex(),
                "hidden": v.hidden}
    except RecordError as e:
        return {"error": e.reason}
    except (BundleError, InvalidArgumentError) as e:
        return {"error": str(e)}


def _mutations(rnd: random.Random, doc: dict) -> list[dict]:
    """A few random alterations of a good partial record."""
    out = []
    for _ in range(4):
        d = copy.deepcopy(doc)
        r = rnd.randrange(11)
        fields, hidden = d["fields"], d["hidden"]
        if r == 0 and fields:
            rnd.choice(fields)["value"] = _random_json(rnd)
        elif r == 1:
            d[rnd.choice(["format", "index", "fields", "hidden", "extra"])] = _random_json(rnd)
        elif r == 2:
            d.pop(rnd.choice(list(d)))
        elif r == 3 and fields:
            f = rnd.choice(fields)
            f[rnd.choice(["name", "value", "salt", "other"])] = _random_json(rnd)
        elif r == 4 and fields:
            rnd.choice(fields).pop(rnd.choice(["name", "value", "salt"]))
        elif r == 5 and len(fields) > 1:
            i = rnd.randrange(len(fields) - 1)
            fields[i], fields[i + 1] = fields[i + 1], fields[i]
        elif r == 6 and hidden:
            hidden.insert(rnd.randrange(len(hidden) + 1), rnd.choice(hidden))
        elif r == 7 and hidden:
            i = rnd.randrange(len(hidden))
            hidden[i] = rnd.choice([_random_json(rnd), "0x" + rnd.randbytes(32).hex(), hidden[i].upper()])
        elif r == 8 and fields:
            f = rnd.choice(fields)
            f["salt"] = "0x" + rnd.randbytes(32).hex()
        elif r == 9:
            d["index"] = rnd.choice([-1, 0, 2**64, 1.0, True, None, "1"])
        else:
            fields.insert(rnd.randrange(len(fields) + 1), {"name": rnd.choice(["data.", "id", "ts", "data.zz", "data"]),
                                                          "value": _random_json(rnd), "salt": "0x" + "11" * 32})
        out.append(d)
    return out


def _corpus() -> list[tuple[str, dict]]:
    rnd = random.Random(1502)
    cases: list[tuple[str, dict]] = []
    for name in ("partial_valid.json", "partial_invalid.json"):
        for c in json.loads((VECTORS / name).read_text(encoding="utf-8"))["cases"]:
            cases.append((f"vector {c['name']}", {"kind": "partial", "text": c["text"]}))
    for c in json.loads((VECTORS / "full_records.json").read_text(encoding="utf-8"))["records"]:
        cases.append((f"vector leaf {c['name']}", {"kind": "leaf", "record": _text(c["record"]), "salt": c["record_salt"]}))
    demo = [r for _, r in zip(range(40), factory_month(days=7, seed=3))]
    randoms = [_random_record(rnd) for _ in range(400)]
    for n, record in enumerate(demo + randoms):
        salt = "0x" + rnd.randbytes(32).hex()
        cases.append((f"leaf {n}", {"kind": "leaf", "record": _text(record), "salt": salt}))
        try:
            prepare_record(record, 0)
        except RecordError:
            continue
        names = record2.field_names(record)
        shown = sorted({*record2.ALWAYS_DISCLOSED, *rnd.sample(names, rnd.randint(0, len(names)))})
        if rnd.random() < 0.1:
            shown = shown[1:] if rnd.random() < 0.5 else [*shown, "data.not-there"]
        index = rnd.randrange(10**6)
        cases.append((f"disclose {n}", {"kind": "disclose", "record": _text(record), "salt": salt,
                                       "fields": shown, "index": index}))
        try:
            doc = record2.disclose(record, bytes.fromhex(salt[2:]), shown, index=index)
        except InvalidArgumentError:
            continue
        cases.append((f"partial {n}", {"kind": "partial", "text": _text(doc)}))
        for k, bad in enumerate(_mutations(rnd, doc)):
            cases.append((f"partial {n} altered {k}", {"kind": "partial", "text": _text(bad)}))
    cases.append(("NaN in a value", {"kind": "partial", "text": cases[0][1]["text"].replace('"value":"', '"value":NaN,"x":"', 1)}))
    cases.append(("not JSON", {"kind": "partial", "text": "{"}))
    return cases


def test_js_computes_pythons_leaves_and_gives_its_verdicts(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    corpus = _corpus()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([c for _, c in corpus]))
    proc = subprocess.run([node, str(RUNNER), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)
    assert len(js) == len(corpus)
    python = [_python(c) for _, c in corpus]
    kinds = {k: sum(c["kind"] == k for _, c in corpus) for k in ("leaf", "disclose", "partial")}
    assert kinds["leaf"] >= 300 and kinds["disclose"] >= 80 and kinds["partial"] >= 400, kinds
    assert sum("leaf" in p and "index" in p for p in python) >= 100  # good partial records
    assert sum("error" in p for p in python) >= 300
    for (name, _), py, got in zip(corpus, python, js):
        assert got == py, name
