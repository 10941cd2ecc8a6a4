"""LogStore.range_proof on SQLite and on a real PostgreSQL: the pure code's proof, from tiles."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from ledger import merkle
from ledger.errors import InvalidArgumentError
from ledger.synthetic import telemetry

STREAM = "line-a/telemetry"


def test_range_proofs_match_the_pure_code(store):
    store.create_log(STREAM)
    store.append(STREAM, [(i, r) for i, r in enumerate(telemetry(1300, seed=2), 1)], chunk_size=211)
    leaves = [r.leaf_hash for r in store.iter_records(STREAM)]
    for size in (1, 2, 256, 257, 1000, 1300):
        root = store.root_at(STREAM, size)
        for start, end in {(0, size), (0, 1), (size - 1, size), (size // 3, size // 2 + 1),
                           (min(255, size - 1), min(513, size))}:
            got = store.range_proof(STREAM, start, end, size)
            assert got == merkle.range_proof(leaves[:size], start, end), (size, start, end)
            merkle.verify_range(*got[:1], leaves[start:end], got[1], start, size, root)
    assert store.range_proof(STREAM, 5, 9) == merkle.range_proof(leaves, 5, 9)  # default size


def test_bad_ranges_are_refused(store):
    store.create_log(STREAM)
    store.append(STREAM, [(i, r) for i, r in enumerate(telemetry(10, seed=1), 1)])
    for start, end, size in [(3, 3, 10), (4, 2, 10), (-1, 2, 10), (0, 11, 10)]:
        with pytest.raises(InvalidArgumentError):
            store.range_proof(STREAM, start, end, size)
    with pytest.raises(InvalidArgumentError, match="outside the log"):
        store.range_proof(STREAM, 0, 5, 11)


def test_a_range_proof_reads_one_tile_query(store):
    store.create_log(STREAM)
    store.append(STREAM, [(i, r) for i, r in enumerate(telemetry(256 * 40 + 77, seed=4), 1)])
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda *a: statements.append(a[2]) if a[2].startswith("SELECT") else None)
    left, right = store.range_proof(STREAM, 1234, 5678)
    assert sum("FROM tiles" in s for s in statements) == 1 and len(statements) <= 2, statements
    assert len(left) == bin(1234).count("1") and right
