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
    """Across processes, even with another DPL_HOME on the same database (SQLite: the lock file
    is beside the database file, not in the home)."""
    url = backend.resolved_database_url()
    elsewhere = backend.home.parent / "another-home"
    with anchoring_lock(store.engine, backend.home) as held:
        assert held
        assert _other_process_gets(url, backend.home) is False
        assert _other_process_gets(url, elsewhere) is False
    assert _other_process_gets(url, elsewhere) is True  # released when the run ends


def _lead_and_wait(url: str, home: str, out) -> None:
    """Take the anchoring leadership, say whether it was had, then live until killed."""
    import time
    from pathlib import Path

    from ledger.store.db import make_engine
    from ledger.store.locks import AnchoringLeader

    leader = AnchoringLeader(make_engine(url), Path(home))
    out.put(leader.lead())
    time.sleep(600)  # holding it (``leader`` stays referenced)


def test_one_anchoring_leader_across_processes_taken_over_when_it_dies(store, backend):
    """One process leads (a session advisory lock on PostgreSQL, a flock on SQLite); the others
    are refused at once; when the leader dies (SIGKILL: nothing released by hand) the server
    drops its lock and the next ``lead()`` of another process takes over."""
    import os
    import signal
    import time

    from ledger.store.locks import AnchoringLeader

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    elsewhere = backend.home.parent / "another-home"  # another machine's DPL_HOME, the same database
    leader = ctx.Process(target=_lead_and_wait, args=(backend.resolved_database_url(), str(elsewhere), out))
    leader.start()
    try:
        assert out.get(timeout=60) is True
        standby = AnchoringLeader(store.engine, backend.home)
        assert standby.lead() is False and not standby.held
        # the per-run lock is another lock: a `dpl anchor` still gets it while a leader lives
        with anchoring_lock(store.engine, backend.home) as held:
            assert held
        os.kill(leader.pid, signal.SIGKILL)
        leader.join(30)
        deadline = time.monotonic() + 30
        while not standby.lead():
            assert time.monotonic() < deadline, "the dead leader's lock was never released"
            time.sleep(0.2)
        assert standby.held and standby.lead() is True  # kept, not taken twice
        assert AnchoringLeader(store.engine, backend.home).lead() is False  # ours now
        standby.release()
        other = AnchoringLeader(store.engine, backend.home)
        assert other.lead() is True  # released: free for the next
        other.release()
    finally:
        if leader.is_alive():
            leader.kill()
            leader.join(10)
