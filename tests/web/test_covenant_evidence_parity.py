"""A warning's evidence re-checked in the browser: ``verify/covenant_evidence.js`` gives
``ledger.covenant_evidence.recheck_evidence``'s checks, byte for byte (names, verdicts, words), on
the corpus of ``tests/ledger/covenant_evidence_cases.py``: warnings that stand (output floor at its
checkpoint and at a later one, a stoppage) and every alteration (a tampered record, a disclosure
of another range or log or checkpoint, a forged value, threshold, message or window, a met week
called a warning, a stoppage of another machine, no key, the anchoring cadence that no disclosure
re-checks). Both run in one node process (``tests/js/covenant_evidence_runner.mjs``). Node is
required (no skip)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import orjson
import pytest

from ledger.covenant_evidence import recheck_evidence
from tests.ledger.covenant_evidence_cases import cases

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "js" / "covenant_evidence_runner.mjs"


def _extra_cases():
    """Alterations only the parity needs: covenant sets and warnings that are not well formed."""
    out = []
    for name, w, d, c, p in cases():
        if name != "output floor stands":
            continue
        for bad in ({**c, "tz": "8"}, {**c, "extra": 1}, {**c, "covenants": []},
                    {**c, "covenants": [{"code": "stoppage", "max_hours": 0}]},
                    {**c, "covenants": [{"code": "output_floor", "min_percent": 70.5}]},
                    {**c, "covenants": [{"code": "scrap_ceiling", "max_ratio": "1.000001"}]},
                    {**c, "covenants": [{"code": ["x"]}]}):
            out.append((f"bad covenants {bad}", w, d, bad, p))
        for bad in ({**w, "checkpoint": {"size": 5, "root": w["checkpoint"]["root"]}}, {**w, "week": None},
                    {**w, "key": "output_floor/2026-W40"}, {**w, "value": 240}, {**w, "code": None}, [1]):
            out.append((f"bad warning {bad}", bad, d, c, p))
        out.append(("a scrap ceiling met", {**w, "code": "scrap_ceiling", "key": "scrap_ceiling/2026-W44",
                                           "threshold": "0.050000", "value": "0.100000"}, d, c, p))
    return out


def test_the_browser_rechecks_every_case_as_python_does():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    corpus = cases() + _extra_cases()
    expected = []
    for _, w, d, c, p in corpus:
        expected.append(recheck_evidence(w, d, covenants=c, pledged_profile=p).as_json())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([{"warning": w, "disclosure": orjson.dumps(d).hex(), "covenants": c, "profile": p}
                   for _, w, d, c, p in corpus], f)
        path = f.name
    try:
        proc = subprocess.run([node, str(RUNNER), path], cwd=ROOT, capture_output=True, timeout=300)
    finally:
        Path(path).unlink()
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout)
    assert len(got) == len(expected)
    for (name, *_), mine, theirs in zip(corpus, expected, got):
        assert theirs == mine, name
    # the corpus reaches every check, passing and failing
    seen = {(c["name"], c["ok"]) for v in expected for c in v["checks"]}
    assert {(n, ok) for n in ("warning", "covenant", "disclosure", "same log", "checkpoint", "window", "week closed",
                              "figure") for ok in (True, False)} <= seen
