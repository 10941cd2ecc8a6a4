"""Consents and audit reports are sealed like record payloads, on SQLite and PostgreSQL: the
database shows no loan reference and no manifest figure, another key or another row does not
open them, and migration 0008 seals the rows an older version kept in clear."""

from __future__ import annotations

import orjson
import pytest
from alembic import command
from sqlalchemy import text

from ledger.crypto import DataKey, parse_key_text
from ledger.errors import DataKeyError
from ledger.settings import Settings
from ledger.store import db
from ledger.store.audit_runs import AuditRunStore
from ledger.store.consents import ConsentStore
from ledger.store.logstore import LogStore
from ledger.store.models import utcnow
from ledger.store.parties import PartyStore

LENDER_A = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
LENDER_B = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
LOAN_REF = b"LN-2026-SECRET-0042"
FIGURE = b"98765432.25"  # a manifest sum
FINDING = b"root-mismatch-at-size-4242"
KEY = "11" * 32
OTHER_KEY = "22" * 32


def _consent_doc(n: int, lender: str) -> bytes:
    return orjson.dumps({"format": "dpl-consent/1", "loan_ref": LOAN_REF.decode() + f"-{n}",
                         "terms": {"lender": lender, "principal": "50000000", "currency": "CNY"},
                         "manifest": {"types": {"mes.work_order": {"count": 1000, "fields": {
                             "qty_good": {"sum": float(FIGURE), "min": 12, "max": 998},
                             # a manifest of many fields: the document spills over several pages
                             **{f"f{i}": {"sum": i * 7.25, "min": i, "max": i * 3} for i in range(300)}}}}}})


def _report(clean: bool) -> bytes:
    return orjson.dumps({"clean": clean, "findings": [] if clean else [{"kind": FINDING.decode()}]})


def _dump(engine) -> bytes:
    """Everything the two tables hold, as bytes (PostgreSQL: their contents)."""
    with engine.connect() as conn:
        return b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                        for table in ("consents", "audit_runs")
                        for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row if v is not None)


def _database_bytes(settings: Settings, engine) -> bytes:
    """SQLite: the database file and its WAL as a copy would take them; PostgreSQL: the tables."""
    if settings.database_url:
        return _dump(engine)
    path = settings.home / "ledger.db"
    return b"".join(p.read_bytes() for p in (path, path.with_name("ledger.db-wal")) if p.exists())


def _settings(backend: Settings, key: str = KEY) -> Settings:
    return Settings(home=backend.home, database_url=backend.database_url, data_key=key)


def _parties(engine) -> tuple[int, int]:
    parties = PartyStore(engine)
    return parties.create("acme", "factory", None, None).id, parties.create("globex", "factory", None, None).id


def test_consents_and_reports_are_sealed_and_read_back(backend):
    settings = _settings(backend)
    store = LogStore.open(settings)
    acme, globex = _parties(store.engine)
    consents, audits = ConsentStore(store.engine, store.key), AuditRunStore(store.engine, store.key)
    ids = [consents.add(acme, LENDER_A, _consent_doc(1, LENDER_A)),
           consents.add(globex, LENDER_B, _consent_doc(2, LENDER_B)),
           consents.add(acme, LENDER_B, _consent_doc(3, LENDER_B))]
    consents.set_token(ids[0], 7)
    assert [(c.id, c.token_id, c.document) for c in consents.list(factory_party=acme)] == [
        (ids[0], 7, _consent_doc(1, LENDER_A)), (ids[2], None, _consent_doc(3, LENDER_B))]
    assert [c.id for c in consents.list(lender=LENDER_B)] == ids[1:]
    assert [c.lender for c in consents.list()] == [LENDER_A, LENDER_B, LENDER_B]
    assert audits.latest() is None
    audits.add(False, _report(False))
    latest = audits.latest()
    assert (latest.clean, latest.report) == (False, _report(False))

    everything = _database_bytes(settings, store.engine)
    store.close()  # SQLite: the WAL is folded into the file
    everything += _database_bytes(settings, store.engine)
    for secret in (LOAN_REF, FIGURE, FINDING, b"mes.work_order", b"50000000"):
        assert secret not in everything, secret


def test_another_key_another_row_or_an_altered_row_does_not_open(backend):
    store = LogStore.open(_settings(backend))
    acme, _ = _parties(store.engine)
    consents, audits = ConsentStore(store.engine, store.key), AuditRunStore(store.engine, store.key)
    first, second = consents.add(acme, LENDER_A, _consent_doc(1, LENDER_A)), consents.add(acme, LENDER_A, _consent_doc(2, LENDER_A))
    run = audits.add(True, _report(True))
    other = DataKey(parse_key_text(OTHER_KEY), "test")
    with pytest.raises(DataKeyError, match="consent 1 does not open"):
        ConsentStore(store.engine, other).list()
    with pytest.raises(DataKeyError, match="audit report 1 does not open"):
        AuditRunStore(store.engine, other).latest()

    def alter(sql, **params):
        with store.engine.begin() as conn:
            conn.execute(text(sql), params)

    with store.engine.connect() as conn:
        sealed_first = bytes(conn.execute(text("SELECT document FROM consents WHERE id = :i"), {"i": first}).scalar())
    alter("UPDATE consents SET document = :d WHERE id = :i", d=sealed_first, i=second)  # copied to another row
    with pytest.raises(DataKeyError, match=f"consent {second} does not open"):
        consents.list()
    alter("UPDATE consents SET document = :d, lender = :l WHERE id = :i", d=sealed_first, l=LENDER_B, i=first)
    with pytest.raises(DataKeyError, match=f"consent {first} does not open"):  # the lender column changed
        consents.list(lender=LENDER_B)
    alter("UPDATE audit_runs SET report = :d WHERE id = :i", d=sealed_first, i=run)  # from another table
    with pytest.raises(DataKeyError, match=f"audit report {run} does not open"):
        audits.latest()
    store.close()


def _old_database(settings: Settings) -> int:
    """A database as version 0006 left it: consents and audit reports in clear."""
    engine = db.make_engine(settings.resolved_database_url())
    with db.write_transaction(engine) as conn:
        command.upgrade(db._alembic_config(conn), "0006")
    key = DataKey(parse_key_text(KEY), "test")
    with db.write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('data_key_check', :v)"), {"v": key.check_value})
    acme, _ = _parties(engine)
    with db.write_transaction(engine) as conn:
        for n, lender in enumerate((LENDER_A, LENDER_B, LENDER_A), 1):
            conn.execute(text("INSERT INTO consents (factory_party, lender, document, token_id, created_at) "
                              "VALUES (:f, :l, :d, :t, :c)"),
                         {"f": acme, "l": lender, "d": _consent_doc(n, lender), "t": None, "c": utcnow()})
        for clean in (True, False):
            conn.execute(text("INSERT INTO audit_runs (clean, report, created_at) VALUES (:k, :r, :c)"),
                         {"k": clean, "r": _report(clean), "c": utcnow()})
    assert LOAN_REF in _dump(engine) and FINDING in _dump(engine)
    engine.dispose()
    return acme


def test_migration_0008_seals_the_rows_an_older_version_kept_in_clear(backend):
    settings = _settings(backend)
    acme = _old_database(settings)

    with pytest.raises(DataKeyError, match="not the key this database was written with"):
        LogStore.open(_settings(backend, OTHER_KEY))  # never sealed with a wrong key
    engine = db.make_engine(settings.resolved_database_url())
    assert db.schema_revision(engine) == "0006" and LOAN_REF in _dump(engine)
    engine.dispose()

    store = LogStore.open(settings)
    assert int(db.schema_revision(store.engine)) >= 8  # 0008 ran (later migrations too: it is not the head)
    consents = ConsentStore(store.engine, store.key)
    assert [c.document for c in consents.list(factory_party=acme)] == [
        _consent_doc(1, LENDER_A), _consent_doc(2, LENDER_B), _consent_doc(3, LENDER_A)]
    assert AuditRunStore(store.engine, store.key).latest().report == _report(False)
    everything = _dump(store.engine)
    store.close()
    everything += _database_bytes(settings, store.engine)  # SQLite: the file itself, free pages too
    for secret in (LOAN_REF, FIGURE, FINDING, b"mes.work_order"):
        assert secret not in everything, secret

    engine = db.make_engine(settings.resolved_database_url())  # and back: 0008 opens them again
    with db.write_transaction(engine) as conn:
        command.downgrade(db._alembic_config(conn, lambda: DataKey(parse_key_text(KEY), "test")), "0006")
    with engine.connect() as conn:
        assert bytes(conn.execute(text("SELECT document FROM consents ORDER BY id")).scalar()) == _consent_doc(1, LENDER_A)
    engine.dispose()


def test_migration_0008_without_the_key_refuses_to_run_on_stored_rows(backend):
    _old_database(_settings(backend))
    engine = db.make_engine(_settings(backend).resolved_database_url())
    with pytest.raises(DataKeyError, match="needs the data key"):
        db.migrate(engine)
    assert db.schema_revision(engine) == "0006"
    engine.dispose()
