"""`make demo`'s story (scripts/demo.sh) runs clean on a fresh home. (Running again on the
same home is tested for `make run` in test_service.py; the demo script pledges anew each
time, releasing leftovers first.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.test_anchoring import _free_port

ROOT = Path(__file__).resolve().parents[2]


def _demo(home: Path, port: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env.update(DPL_HOME=str(home), DPL_DEMO_PORT=str(port), DPL=str(Path(sys.executable).parent / "dpl"),
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], env=env, capture_output=True,
                          text=True, timeout=600, cwd=home.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_demo_story_runs_clean(tmp_path):
    home, port = tmp_path / "home", _free_port()
    first = _demo(home, port)
    assert "collateral SOUND" in first and "clean" in first
    assert "PledgeLenderNotApproved" in first and "PledgeNotHolder" in first and "PledgeConsentReplayed" in first
    assert "pledge 1: released" in first and "NOT SOUND" in first
    # the verifiers name the factory from the registry's directory, and the registry they trust
    assert "factory: factory 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 (registered as ACME Precision Co.)" in first
    assert "PASS  factory: factory 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 (registered as ACME Precision Co.)" in first
    assert "(from the pinned deployment record " in first
    # the second factory (dev4), whose MES over-reports: its own log, anchored, listed
    assert "bolt/line-1 size 3495: " in first
    assert "listed 0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65 as 'Bolt Fasteners Ltd.'" in first
    # its profile names the over-reported machine-day, and lender A's check of the full disclosure
    # is SOUND: the records are genuine, and that is what they say
    assert "cross_source_mismatch: Machine press-07 on 2026-10-09" in first
    assert "PASS  figures: all " in first and "profile SOUND" in first
