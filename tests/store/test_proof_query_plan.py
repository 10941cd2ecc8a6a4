"""Proofs read their tiles by primary key, whatever the log's size: every statement a proof
makes searches ``tiles`` by (log_pk, level, idx), never the log's tiles by log_pk alone (an
``OR`` of (level, idx) pairs did that on SQLite: a scan of n/256 tiles per proof, 5 ms at 10^7
records, bench/bench_scale.py). Checked with SQLite's EXPLAIN QUERY PLAN (PostgreSQL's planner
chooses by table statistics, so a small test table says nothing there; its answers are checked
by the store tests on both backends)."""

from __future__ import annotations

from sqlalchemy import event

from ledger.settings import Settings
from ledger.store.logstore import LogStore
from ledger.synthetic import telemetry

STREAM = "line-a/telemetry"


def test_every_proof_statement_searches_tiles_by_their_whole_key(tmp_path):
    store = LogStore.open(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'ledger.db'}"))
    store.create_log(STREAM)
    store.append(STREAM, [(i, r) for i, r in enumerate(telemetry(70_000, seed=3), 1)])
    statements: list[tuple[str, tuple]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany):
        if "tiles" in statement:
            statements.append((statement, tuple(parameters)))

    log = store.get_log(STREAM)
    store.inclusion_proof(STREAM, 12_345)
    store.inclusion_proof(log, 65_999, 66_000)
    store.record_with_proof(log, 256 * 7 + 3)
    store.consistency_proof(STREAM, 1000, 69_000)
    event.remove(store.engine, "before_cursor_execute", _seen)
    assert len(statements) >= 4
    with store.engine.connect() as conn:
        for sql, params in statements:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            searches = [step for step in plan if "tiles" in step]
            assert searches, plan
            for step in searches:
                assert "level=? AND idx=?" in step, (sql, plan)
    store.close()
