"""A monitor process killed with SIGKILL in the middle of a run (inside a pledge's open write
transaction, its warnings inserted and not committed) loses nothing and duplicates nothing: the
next run ends where an uninterrupted run ends, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path


from ledger.service.context import Context
from ledger.service.monitor import Monitor
from ledger.store.warnings import WarningStore
from tests.service.test_monitor import ANCHORED, CHAIN, REGISTRY, Log, count_rows, weeks
from tests.ledger.test_covenants import split

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(ctx) -> dict:
    store = WarningStore(ctx.store.engine, CHAIN, REGISTRY)
    warnings = {(w.token_id, w.key): (w.state, w.value, w.window) for w in store.list()}
    return {"warnings": warnings, "points": store.evaluation_points(), "rows": count_rows(ctx)}


def test_a_killed_monitor_resumes_without_loss_or_duplicates(backend, tmp_path):
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 or day >= 28 else 10, days=36)
    ctx = Context(backend)
    try:
        logs = [Log(ctx, records, token_id=t, stream=f"line/{t}") for t in (7, 8, 9)]
        for lg in logs:
            lg.grow(split(records, 35) + 1)  # W43 and W45 at half the output, both closed
        watched = [lg.watched() for lg in logs]
    finally:
        ctx.close()
    (tmp_path / "watched.pickle").write_bytes(pickle.dumps(watched))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.service.monitor_child", str(backend.home), backend.database_url or "",
         str(tmp_path / "watched.pickle"), "8", str(ANCHORED + 3600), str(CHAIN), REGISTRY],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = [proc.stdout.readline().strip() for _ in range(2)]
        assert said == ["committing 7", "committing 8"], (said, proc.stderr.read() if proc.poll() is not None else "")
        proc.send_signal(signal.SIGKILL)  # pledge 8's warnings are written, not committed
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    ctx = Context(backend)
    try:
        after_kill = _snapshot(ctx)
        # pledge 7 was committed whole; pledge 8's transaction died with the process; 9 never began
        assert after_kill["points"] == {7: logs[0].size}
        assert {t for t, _ in after_kill["warnings"]} == {7}
        report = Monitor(ctx).judge(watched, ANCHORED + 3600, CHAIN, REGISTRY)
        # what the kill lost is raised now, and only that
        assert sorted(report.raised) == [(8, "output_floor/2026-W43"), (8, "output_floor/2026-W45"),
                                         (9, "output_floor/2026-W43"), (9, "output_floor/2026-W45")]
        resumed = _snapshot(ctx)
        again = Monitor(ctx).judge(watched, ANCHORED + 3600, CHAIN, REGISTRY)
        assert again.raised == [] and again.resolved == [] and _snapshot(ctx) == resumed
    finally:
        ctx.close()

    # the same run, never killed, in a fresh store ends in the same place
    clean = backend.__class__(home=tmp_path / "clean", database_url=None)
    ctx = Context(clean)
    try:
        fresh = [Log(ctx, records, token_id=t, stream=f"line/{t}") for t in (7, 8, 9)]
        for lg in fresh:
            lg.grow(split(records, 35) + 1)
        Monitor(ctx).judge([lg.watched() for lg in fresh], ANCHORED + 3600, CHAIN, REGISTRY)
        expected = _snapshot(ctx)
    finally:
        ctx.close()
    assert resumed == expected and resumed["rows"] == 6
