"""Compact records (issue 16, goal 5): payloads compressed inside the seal, and on SQLite a
``WITHOUT ROWID`` records table (migration 0020). Rows written before both still open, prove
and deduplicate, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text

from ledger import crypto, merkle
from ledger.errors import ConflictError, DataKeyError
from ledger.store import db
from ledger.store.logstore import LogStore
from ledger.synthetic import telemetry


def _records(n: int, seed: int = 5) -> list[dict]:
    return list(telemetry(n, seed=seed))


def _sealed_before_formats(store: LogStore, leaf: bytes, salt: bytes, canonical: bytes, nonce: bytes) -> bytes:
    """What the code before the format byte wrote: nonce || AES-256-GCM(salt || canonical), associated
    data dpl-record/1 || leaf (from the primitives, with the same data key)."""
    aead = store.key._aead
    assert isinstance(aead, AESGCM)
    return nonce + aead.encrypt(nonce, salt + canonical, b"dpl-record/1" + leaf)


def _table_sql(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'records'")).scalar()


def test_new_rows_are_compressed_and_read_back(store):
    store.create_log("c")
    records = _records(50)
    store.append("c", enumerate(records, 1), chunk_size=16)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT sealed FROM records ORDER BY idx")).all()
    assert all(bytes(r[0])[0] == crypto.SEALED_ZSTD_1 for r in rows)
    # ~230 canonical bytes become ~70: well under salt + canonical + nonce + tag
    assert max(len(r[0]) for r in rows) < 1 + 12 + 32 + 16 + 120
    assert [r.record for r in store.iter_records("c")] == records


def test_a_tampered_row_is_refused_by_reads(store):
    store.create_log("t")
    store.append("t", enumerate(_records(3), 1))
    with store.engine.connect() as conn:
        sealed = bytes(conn.execute(text("SELECT sealed FROM records WHERE idx = 1")).scalar())
    for altered in (bytes([crypto.SEALED_PLAIN]) + sealed[1:], sealed[:-1] + bytes([sealed[-1] ^ 1])):
        with db.write_transaction(store.engine) as conn:
            conn.execute(text("UPDATE records SET sealed = :s WHERE idx = 1"), {"s": altered})
        with pytest.raises(DataKeyError, match="does not open"):
            store.record_at("t", 1)
    assert store.record_at("t", 0).index == 0


def test_0020_keeps_rows_written_before_and_they_still_open(backend):
    """A store at revision 0019 whose rows were sealed the old way (no format byte, not
    compressed) is migrated: every row keeps its bytes, opens, proves, deduplicates and conflicts
    as before; new rows after it are compressed."""
    store = LogStore.open(backend)
    store.create_log("old")
    records = _records(300)
    result = store.append("old", enumerate(records, 1), chunk_size=64)
    sqlite = db.is_sqlite(store.engine)
    with store.engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "0019")
    if sqlite:
        assert "WITHOUT ROWID" not in _table_sql(store.engine).upper()
    # Re-seal every row as the code before formats did (nonces starting with each format byte too).
    with db.write_transaction(store.engine) as conn:
        rows = conn.execute(text("SELECT idx, leaf_hash, sealed FROM records ORDER BY idx")).all()
        old = {}
        for idx, leaf, sealed in rows:
            salt, canonical = store.key.open(bytes(leaf), bytes(sealed))
            nonce = bytes([idx % 4]) + bytes(11 - len(str(idx))) + str(idx).encode()
            old[idx] = _sealed_before_formats(store, bytes(leaf), salt, canonical, nonce)
            conn.execute(text("UPDATE records SET sealed = :s WHERE idx = :i"), {"s": old[idx], "i": idx})
    store.close()

    store = LogStore.open(backend)  # migrates to 0020
    try:
        assert db.schema_revision(store.engine) == "0020"
        if sqlite:
            assert "WITHOUT ROWID" in _table_sql(store.engine).upper()
        with store.engine.connect() as conn:
            after = {i: bytes(s) for i, s in conn.execute(text("SELECT idx, sealed FROM records"))}
        assert after == old  # not rewritten
        assert [r.record for r in store.iter_records("old")] == records
        proof = store.inclusion_proof("old", 123)
        assert proof.root == result.root
        merkle.verify_inclusion(proof.leaf_hash, 123, 300, proof.proof, result.root)  # raises if not
        assert store.index_of("old", records[200]["id"]) == 200
        # The same records again: duplicates of the old rows (opened to compare), nothing added.
        again = store.append("old", enumerate(records[:10] + [dict(r, id=r["id"] + "-new") for r in _records(5, seed=9)], 1))
        assert (again.appended, again.duplicates, again.size) == (5, 10, 305)
        changed = dict(records[7], ts="2030-01-01T00:00:00.000Z")
        with pytest.raises(ConflictError, match="same id, different content"):
            store.append("old", enumerate([changed], 1))
        with store.engine.connect() as conn:
            new = [bytes(r[0]) for r in conn.execute(text("SELECT sealed FROM records WHERE idx >= 300"))]
        assert len(new) == 5 and all(s[0] == crypto.SEALED_ZSTD_1 for s in new)
        assert store.root_at("old") == merkle.root([r.leaf_hash for r in store.iter_records("old")])
    finally:
        store.close()
