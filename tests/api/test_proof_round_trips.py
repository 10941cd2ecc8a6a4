"""How many database round trips a proof request makes (issue 16 goal 4: at most 3): the key
and its party, the log with its owner, the tiles. Counted at the driver (every statement a
cursor executes; SQLite's ``BEGIN`` is left out, as PostgreSQL's is not a statement there).

The answers are the ones ``test_logs.py`` verifies; here only their cost."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event


@contextmanager
def statements(world):
    """The SQL statements the app's engine runs inside the block."""
    engine = world.client.app.state.services.store.engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.split(None, 1)[0].upper() != "BEGIN":
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _paths(world) -> dict[str, tuple[str, int]]:
    """Request type: (path, most round trips allowed)."""
    base = f"/v1/logs/{world.log_id}"
    return {
        "inclusion": (f"{base}/proofs/inclusion?index=1234", 3),
        "inclusion at a size": (f"{base}/proofs/inclusion?index=5&size=1000", 3),
        "consistency": (f"{base}/proofs/consistency?from=10", 3),
        "record with its proof": (f"{base}/records/1234", 3),
        "record at a size": (f"{base}/records/5?size=1000", 3),
        "record by id": (f"{base}/records?id=" + world.records[1234]["id"], 5),
    }


@pytest.mark.parametrize("kind", ["inclusion", "inclusion at a size", "consistency", "record with its proof",
                                  "record at a size", "record by id"])
def test_a_proof_request_makes_few_round_trips(world, kind):
    path, most = _paths(world)[kind]
    first = world.ok("GET", path, "acme")
    with statements(world) as seen:
        again = world.ok("GET", path, "acme")
    assert again == first  # the same answer, from the same state
    assert 0 < len(seen) <= most, f"{kind}: {len(seen)} round trips (at most {most}):\n" + "\n".join(seen)


def test_the_count_sees_every_statement(world):
    """The listener is not blind: a request that reads more shows it (a list of logs reads the
    key, the logs and their owners)."""
    with statements(world) as seen:
        world.ok("GET", "/v1/logs", "acme")
    assert len(seen) >= 2 and any("api_keys" in s for s in seen)


@pytest.mark.parametrize("index,size", [(1234, None), (5, 1000), (5, "all")])
def test_the_anchor_read_with_the_log_is_the_one_read_alone(world, index, size):
    """The record route reads the newest anchored checkpoint in the log's query; its bundle is
    the one ``dpl prove`` assembles reading it apart (``AnchorStore.newest_anchored``)."""
    from ledger.service.proofs import Proofs

    size = world.size if size == "all" else size
    query = "" if size is None else f"?size={size}"
    got = world.ok("GET", f"/v1/logs/{world.log_id}/records/{index}{query}", "acme")
    store = world.client.app.state.services.store
    stream = store.find_by_log_id(bytes.fromhex(world.log_id[2:])).stream
    assert got == Proofs(store).record_bundle(stream, index, size)
    assert (got["anchor"] is None) == (size == 1000)  # the sample log is anchored at its size only
