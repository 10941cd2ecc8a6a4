"""The anchoring lock: held by one process at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing

from ledger.store.locks import anchoring_lock


def _try_lock(url: str, home: str, out) -> None:
    from ledger.store.db import make_engine

    engine = make_engine(url)
    with anchoring_lock(engine, __import__("pathlib").Path(home)) as held:
        out.put(held)
    engine.dispose()


def _other_process_gets(url, home) -> bool:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_try_lock, args=(url, str(home), out))
    p.start()
    p.join(60)
    return out.get(timeout=5)


def test_one_holder_at_a_time_across_processes(store, backend):
    url = backend.resolved_database_url()
    with anchoring_lock(store.engine, backend.home) as held:
        assert held
        assert _other_process_gets(url, backend.home) is False
    assert _other_process_gets(url, backend.home) is True  # released when the run ends
