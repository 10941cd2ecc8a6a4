"""dpl-disclosure/1: the browser verifier (verify/disclosure.js) gives Python's verdict and words.

Good disclosures of many shapes and every alteration of tests/ledger/test_disclosure.py, plus a
few malformed texts, go through ``ledger.disclosure.verify_disclosure`` and, in one node run
(``tests/js/disclosure_runner.mjs``), through ``verifyDisclosure``: the verdicts, the error
messages and what a good disclosure proved must be equal. Node is required (no skip).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger import jsonio
from ledger.disclosure import verify_disclosure
from ledger.errors import BundleError
from tests.ledger.test_disclosure import ALTERATIONS, GOOD_SHAPES, altered, make_disclosure

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "js" / "disclosure_runner.mjs"


def _python(raw: bytes) -> dict:
    try:
        v = verify_disclosure(jsonio.loads(raw))
    except BundleError as e:
        return {"ok": False, "error": str(e)}
    return {"ok": True, "error": None, "start": v.start, "end": v.end, "size": v.size,
            "root": "0x" + v.root.hex(), "log_id": "0x" + v.log_id.hex() if v.log_id else None,
            "stream": v.stream, "ids": [[i, r["id"]] for i, r in v.records]}


def _corpus() -> list[tuple[str, bytes]]:
    cases = [(f"good {shape}", make_disclosure(*shape)) for shape in GOOD_SHAPES]
    cases += [(f"good v2 {shape}", make_disclosure(*shape, record_format="dpl-record/2")) for shape in GOOD_SHAPES[:8]]
    v2 = make_disclosure(12, 3, 9, record_format="dpl-record/2")
    cases += [
        ("v2 read as v1", v2.replace(b'"record_format":"dpl-record/2",', b"", 1)),
        ("v2 unknown format", v2.replace(b'"record_format":"dpl-record/2"', b'"record_format":"dpl-record/7"', 1)),
        ("v2 format null", v2.replace(b'"record_format":"dpl-record/2"', b'"record_format":null', 1)),
        ("v2 format a number", v2.replace(b'"record_format":"dpl-record/2"', b'"record_format":2.0', 1)),
        ("v2 record altered", v2.replace(b'"parts_total":', b'"parts_total":1,"z":', 1)),
        ("v1 said to be v2", make_disclosure(12, 3, 9).replace(b'"format":"dpl-disclosure/1",',
                                                               b'"format":"dpl-disclosure/1","record_format":"dpl-record/2",', 1)),
    ]
    cases += [(name, altered(name)) for name in ALTERATIONS]
    good = make_disclosure(12, 3, 9)
    cases += [
        ("not an object", b"[1, 2]"),
        ("index as a float", good.replace(b'{"index":4,', b'{"index":4.0,', 1)),
        ("index as a bool", good.replace(b'{"index":3,', b'{"index":true,', 1)),
        ("index huge", good.replace(b'{"index":4,', b'{"index":123456789012345678901234567890,', 1)),
        ("range from negative", good.replace(b'"from":3', b'"from":-3', 1)),
        ("records not a list", good.split(b',"records":[')[0] + b',"records":{}}'),
        ("records empty", good.split(b',"records":[')[0] + b',"records":[]}'),
        ("an entry not an object", good.replace(b'{"index":5,', b'[{"index":5,', 1).replace(b'}},\n{"index":6', b'}}],\n{"index":6', 1)),
        ("record with a float", good.replace(b'"temp_c":', b'"temp_c":1e400,"x":', 1)),
        ("no log_id", good.replace(b'"log_id":"0x', b'"log_id":null,"y":"0x', 1)),
        ("a unicode stream", good.replace(b'"stream":"line-a/telemetry"', '"stream":"ligne-\u00e9/\U0001f600"'.encode(), 1)),
    ]
    return cases


def test_js_gives_pythons_verdicts_and_words(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    corpus = _corpus()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"hex": raw.hex()} for _, raw in corpus]))
    proc = subprocess.run([node, str(RUNNER), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)
    assert len(js) == len(corpus)
    verdicts = [(name, _python(raw)) for name, raw in corpus]
    assert sum(v["ok"] for _, v in verdicts) >= len(GOOD_SHAPES) + 2
    assert sum(not v["ok"] for _, v in verdicts) >= len(ALTERATIONS)
    for (name, py), got in zip(verdicts, js):
        assert got == py, name
