"""A log's record format (migration 0019): chosen at creation, kept, and used for every leaf the
store makes or checks; dpl-record/1 logs unchanged. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text

from ledger import merkle, record2
from ledger.errors import ConflictError, InvalidArgumentError, InvariantError, RecordError
from ledger.leaves import RECORD_V1, RECORD_V2
from ledger.store import db
from ledger.store.models import Record
from ledger.synthetic import telemetry


def _records(n: int, seed: int = 3) -> list[dict]:
    return list(telemetry(n, seed=seed))


def test_a_log_keeps_the_format_it_was_created_with(store):
    store.create_log("old")
    store.create_log("new", record_format=RECORD_V2)
    assert store.get_log("old").record_format == RECORD_V1
    assert store.get_log("new").record_format == RECORD_V2
    assert {i.stream: i.record_format for i in store.list_logs()} == {"old": RECORD_V1, "new": RECORD_V2}


def test_an_unknown_format_is_refused_and_creates_nothing(store):
    with pytest.raises(InvalidArgumentError, match="unknown record format 'dpl-record/3'"):
        store.create_log("x", record_format="dpl-record/3")
    assert store.list_logs() == []


def test_v2_leaves_are_the_v2_rule_of_the_stored_record_and_salt(store):
    store.create_log("v2", record_format=RECORD_V2)
    records = _records(40)
    result = store.append("v2", enumerate(records, 1), chunk_size=7)
    assert (result.appended, result.size) == (40, 40)
    leaves = []
    for stored in store.iter_records("v2"):
        assert stored.record == records[stored.index]
        assert stored.leaf_hash == record2.leaf_hash_v2(records[stored.index], stored.salt)
        assert stored.leaf_hash != merkle.leaf_hash(stored.salt + stored.canonical)
        leaves.append(stored.leaf_hash)
    assert store.root_at("v2") == merkle.root(leaves)
    one = store.record_at("v2", 17)
    proof = store.inclusion_proof("v2", 17)
    merkle.verify_inclusion(record2.leaf_hash_v2(one.record, one.salt), 17, 40, proof.proof, proof.root)


def test_v1_leaves_are_unchanged(store):
    store.create_log("v1")
    records = _records(5)
    store.append("v1", enumerate(records, 1))
    for stored in store.iter_records("v1"):
        assert stored.leaf_hash == merkle.leaf_hash(stored.salt + stored.canonical)


def test_v2_ingest_is_idempotent_and_all_or_nothing(store):
    store.create_log("v2", record_format=RECORD_V2)
    records = _records(10)
    store.append("v2", enumerate(records[:6], 1))
    root = store.get_log("v2").root
    seen = []
    again = store.append("v2", enumerate(records, 1), on_duplicate=lambda p, rid, i: seen.append((p, i)))
    assert (again.appended, again.duplicates, again.size) == (4, 6, 10)
    assert seen == [(p, p - 1) for p in range(1, 7)]
    assert store.root_at("v2", 6) == root
    changed = dict(records[2], data={**records[2]["data"], "parts_total": 10**6})
    with pytest.raises(ConflictError):
        store.append("v2", enumerate([_records(1, seed=99)[0] | {"id": "fresh"}, changed], 1))
    with pytest.raises(RecordError):
        store.append("v2", enumerate([_records(1, seed=98)[0] | {"id": "fresh2"}, {"id": "bad"}], 1))
    assert store.get_log("v2").size == 10  # neither failed batch kept anything


def test_a_record_that_does_not_match_its_v2_leaf_is_caught(store):
    """The store checks a record against its leaf by the log's format: a v2 leaf replaced by the
    v1 leaf of the same record and salt (what a store ignoring the format would have written) is
    refused when read."""
    store.create_log("v2", record_format=RECORD_V2)
    store.append("v2", enumerate(_records(3), 1))
    stored = store.record_at("v2", 1)
    v1_leaf = merkle.leaf_hash(stored.salt + stored.canonical)
    sealed = store.key.seal(v1_leaf, stored.salt + stored.canonical, b"\x07" * 12)
    log_pk = store.get_log("v2").pk
    with db.write_transaction(store.engine) as conn:
        conn.execute(Record.__table__.update().where(Record.log_pk == log_pk, Record.idx == 1)
                     .values(leaf_hash=v1_leaf, sealed=sealed))
    with pytest.raises(InvariantError, match="record 1: sealed payload does not hash to its leaf"):
        store.record_at("v2", 1)


def test_logs_made_before_the_migration_are_dpl_record_1(backend):
    engine = db.make_engine(backend.resolved_database_url())
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0017")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO logs (stream, size, root, created_at) VALUES ('before', 0, :r, :t)"),
                     {"r": merkle.EMPTY_ROOT, "t": "2026-01-01 00:00:00+00:00"})
    db.migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT record_format FROM logs WHERE stream = 'before'")).scalar() == RECORD_V1
    engine.dispose()
