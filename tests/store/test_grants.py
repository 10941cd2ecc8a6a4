"""The grants table (SQLite and PostgreSQL): the grant document is sealed (the database shows no
field name of it), bound to its row and lender; lists by factory and lender; revocation is set
once."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.crypto import DataKey, parse_key_text
from ledger.errors import DataKeyError
from ledger.settings import Settings
from ledger.store.grants import GrantStore
from ledger.store.logstore import LogStore
from ledger.store.parties import PartyStore

LENDER_A = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
LENDER_B = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
FIELD = b"secret_field_name_7c2e"


def _doc(n: int) -> bytes:
    return b'{"format":"dpl-grant/1","types":{"mes.work_order":["' + FIELD + b'-%d"]}}' % n


@pytest.fixture
def grants(backend):
    store = LogStore.open(Settings(home=backend.home, database_url=backend.database_url, data_key="11" * 32))
    yield store, PartyStore(store.engine).create("acme", "factory", None, None).id, GrantStore(store.engine, store.key)
    store.close()


def test_grants_are_sealed_listed_and_revoked_once(grants):
    store, acme, g = grants
    first = g.add(acme, LENDER_A, _doc(1), b"\x01" * 32)
    second = g.add(acme, LENDER_B, _doc(2), b"\x02" * 32)
    with store.engine.connect() as conn:
        stored = b"".join(bytes(r[0]) for r in conn.execute(text("SELECT document FROM grants")))
    assert FIELD not in stored
    assert [r.id for r in g.list(factory_party=acme)] == [first, second]
    assert [(r.id, r.document, r.digest) for r in g.list(lender=LENDER_B)] == [(second, _doc(2), b"\x02" * 32)]
    assert g.list(factory_party=acme + 1) == [] and g.get(999) is None
    assert g.revoke(first) is True
    at = g.get(first).revoked_at
    assert at is not None and g.revoke(first) is False and g.get(first).revoked_at == at
    assert g.get(second).revoked_at is None


def test_another_key_another_row_or_another_lender_does_not_open(grants):
    store, acme, g = grants
    first, second = g.add(acme, LENDER_A, _doc(1), b"\x01" * 32), g.add(acme, LENDER_A, _doc(2), b"\x02" * 32)
    with pytest.raises(DataKeyError, match="grant 1 does not open"):
        GrantStore(store.engine, DataKey(parse_key_text("22" * 32), "test")).list()
    with store.engine.begin() as conn:
        sealed = bytes(conn.execute(text("SELECT document FROM grants WHERE id = :i"), {"i": first}).scalar())
        conn.execute(text("UPDATE grants SET lender = :l WHERE id = :i"), {"l": LENDER_B, "i": first})
    with pytest.raises(DataKeyError, match=f"grant {first} does not open"):  # re-addressed to another lender
        g.list(lender=LENDER_B)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE grants SET document = :d WHERE id = :i"), {"d": sealed, "i": second})
    with pytest.raises(DataKeyError, match=f"grant {second} does not open"):  # copied to another row
        g.list(lender=LENDER_A)
