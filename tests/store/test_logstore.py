"""The log store on SQLite and on a real PostgreSQL: atomic, idempotent, sealed, O(log n)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text

from ledger import merkle
from ledger.errors import ConflictError, DataKeyError, InvalidArgumentError, NotFoundError, RecordError
from ledger.settings import Settings
from ledger.store.logstore import LogStore
from ledger.synthetic import telemetry
from tests import reference_merkle as ref

STREAM = "line-a/telemetry"


def _records(n, start=0, prefix="t"):
    return [(i + 1, {"id": f"{prefix}-{start + i}", "ts": "2026-10-01T08:00:00+08:00",
                     "type": "iot.telemetry", "data": {"temp_c": 60 + (start + i) / 8, "n": start + i}})
            for i in range(n)]


def _leaves(store, stream=STREAM):
    return [r.leaf_hash for r in store.iter_records(stream)]


def test_create_show_list(store):
    info = store.create_log(STREAM)
    assert (info.stream, info.size, info.root, info.log_id) == (STREAM, 0, merkle.EMPTY_ROOT, None)
    assert [i.stream for i in store.list_logs()] == [STREAM]
    with pytest.raises(ConflictError):
        store.create_log(STREAM)
    with pytest.raises(NotFoundError):
        store.get_log("line-b/telemetry")
    with pytest.raises(InvalidArgumentError):
        store.create_log("../etc")


def test_appends_grow_one_tree_whose_proofs_match_the_reference(store):
    store.create_log(STREAM)
    for start, n in [(0, 1), (1, 300), (301, 212), (513, 700)]:
        result = store.append(STREAM, _records(n, start), chunk_size=97)
        assert (result.appended, result.duplicates, result.size) == (n, 0, start + n)
    leaves = _leaves(store)
    assert store.get_log(STREAM).root == ref.mth(leaves)
    assert [size for size, _ in store.checkpoints(STREAM)] == [1, 301, 513, 1213]
    for size in (1, 2, 255, 256, 257, 513, 1000, 1213):
        assert store.root_at(STREAM, size) == ref.mth(leaves[:size])
        for index in {0, size // 2, size - 1}:
            p = store.inclusion_proof(STREAM, index, size)
            assert p.proof == ref.path(index, leaves[:size])
            merkle.verify_inclusion(leaves[index], index, size, p.proof, p.root)
        for old in {1, max(1, size // 3), size}:
            c = store.consistency_proof(STREAM, old, size)
            assert c.proof == ref.proof(old, leaves[:size])
            merkle.verify_consistency(old, size, c.proof, c.old_root, c.new_root)


def test_records_read_back_with_their_salts(store):
    store.create_log(STREAM)
    store.append(STREAM, _records(10))
    got = store.record_at(STREAM, 3)
    assert got.record["id"] == "t-3" and got.record["data"]["n"] == 3
    assert merkle.leaf_hash(got.salt + got.canonical) == got.leaf_hash
    assert store.index_of(STREAM, "t-7") == 7
    with pytest.raises(NotFoundError):
        store.index_of(STREAM, "t-99")
    with pytest.raises(NotFoundError):
        store.record_at(STREAM, 10)


def test_same_id_same_content_is_a_noop_reporting_the_index(store):
    store.create_log(STREAM)
    store.append(STREAM, _records(50))
    before = store.get_log(STREAM)
    seen = []
    result = store.append(STREAM, _records(5, start=10) + _records(2, start=50),
                          on_duplicate=lambda pos, rid, idx: seen.append((rid, idx)))
    assert (result.appended, result.duplicates, result.size) == (2, 5, 52)
    assert seen == [(f"t-{i}", i) for i in range(10, 15)]
    assert store.root_at(STREAM, 50) == before.root
    again = store.append(STREAM, _records(52))
    assert (again.appended, again.duplicates, again.size) == (0, 52, 52)


def test_duplicates_inside_one_batch(store):
    store.create_log(STREAM)
    seen = []
    batch = _records(3) + _records(1, start=1)
    result = store.append(STREAM, batch, on_duplicate=lambda p, r, i: seen.append((p, r, i)))
    assert (result.appended, result.duplicates) == (3, 1)
    assert seen == [(1, "t-1", 1)]


def test_same_id_other_content_is_a_conflict_and_stores_nothing(store):
    store.create_log(STREAM)
    store.append(STREAM, _records(20))
    before = store.get_log(STREAM)
    changed = _records(1, start=7)[0][1] | {"data": {"temp_c": 0}}
    batch = _records(30, start=20) + [(31, changed)]
    with pytest.raises(ConflictError, match="t-7") as e:
        store.append(STREAM, batch, chunk_size=8)
    assert "index 7" in str(e.value)
    assert store.get_log(STREAM) == before
    assert len(_leaves(store)) == 20
    assert [s for s, _ in store.checkpoints(STREAM)] == [20]


def test_an_invalid_record_late_in_a_big_batch_stores_nothing(store):
    store.create_log(STREAM)
    batch = _records(5000)
    batch[4321] = (4322, {"id": "bad", "ts": "not a time", "type": "x", "data": {}})
    with pytest.raises(RecordError) as e:
        store.append(STREAM, batch, chunk_size=1000)
    assert (e.value.position, e.value.record_id, e.value.field) == (4322, "bad", "ts")
    assert store.get_log(STREAM).size == 0
    assert _leaves(store) == []


def test_the_database_alone_reveals_only_hashes(store):
    store.create_log(STREAM)
    store.append(STREAM, [(i, r) for i, r in enumerate(telemetry(200, seed=3), 1)])
    secret_bits = [b"press-07", b"tel-cnc-01", b"temp_c", b"running", b"iot.telemetry"]
    with store.engine.connect() as conn:
        dump = b"".join(
            bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
            for table in ("logs", "records", "tiles", "checkpoints", "meta")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for v in row if v is not None
        )
    for bit in secret_bits:
        assert bit not in dump


def test_a_wrong_data_key_is_refused_before_anything_is_written(backend):
    store = LogStore.open(backend)
    store.create_log(STREAM)
    store.append(STREAM, _records(3))
    store.close()
    other = Settings(home=backend.home, database_url=backend.database_url,
                     data_key="A" * 43 + "=")
    with pytest.raises(DataKeyError, match="not the key this database was written with"):
        LogStore.open(other)


def test_proofs_read_a_bounded_number_of_rows(store):
    """O(log n): the statements and tile rows a proof reads do not grow with the log."""
    store.create_log(STREAM)
    store.append(STREAM, [(i, r) for i, r in enumerate(telemetry(256 * 256 + 300, seed=5), 1)])
    size = store.get_log(STREAM).size
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]) if args[2].startswith("SELECT") else None)
    for index in (0, 1234, 40_000, size - 1):
        statements.clear()
        p = store.inclusion_proof(STREAM, index)
        merkle.verify_inclusion(p.leaf_hash, index, size, p.proof, p.root)
        tile_queries = [s for s in statements if "FROM tiles" in s]
        assert len(statements) <= 2 and len(tile_queries) == 1, statements
    statements.clear()
    c = store.consistency_proof(STREAM, 12_345)
    merkle.verify_consistency(12_345, size, c.proof, c.old_root, c.new_root)
    assert len(statements) <= 2


@pytest.mark.postgres
def test_concurrent_appends_to_one_log_never_share_an_index(pg_url, tmp_path):
    settings = Settings(home=tmp_path / "home", database_url=pg_url)
    LogStore.open(settings).create_log(STREAM)
    errors = []

    def worker(w):
        try:
            s = LogStore.open(settings)
            for b in range(5):
                s.append(STREAM, _records(40, start=(w * 5 + b) * 40, prefix=f"w{w}"), chunk_size=16)
            s.close()
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = LogStore.open(settings)
    leaves = _leaves(store)
    assert len(leaves) == 4 * 5 * 40
    assert store.get_log(STREAM).root == merkle.root(leaves)
    assert len(store.checkpoints(STREAM)) == 20


def test_an_in_batch_conflict_names_the_earlier_record(store):
    store.create_log(STREAM)
    store.append(STREAM, _records(6))
    batch = [_records(1, start=6)[0], (2, _records(1)[0][1]), (3, _records(1)[0][1] | {"data": {}})]
    with pytest.raises(ConflictError, match="record 3 .*conflicts with record 2 of this batch"):
        store.append(STREAM, batch)
    assert store.get_log(STREAM).size == 6


def test_readers_do_not_wait_for_a_long_ingest(tmp_path):
    settings = Settings(home=tmp_path / "home")
    LogStore.open(settings).create_log(STREAM)
    import sqlite3

    writer = sqlite3.connect(tmp_path / "home" / "ledger.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # as an ingest holds it for the whole batch
    try:
        reader = LogStore.open(settings)
        assert reader.get_log(STREAM).size == 0
        reader.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
