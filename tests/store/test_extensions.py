"""Factory-signed pledge extensions kept for the holder, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ledger.errors import ConflictError
from ledger.store.extensions import PledgeExtensions
from ledger.store.parties import PartyStore

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def doc(token: int, nonce: int, lien_end: int = 1_950_000_000) -> dict:
    return {"format": "dpl-extension/1", "token_id": token, "lien_end": lien_end, "nonce": str(nonce),
            "deadline": 1_900_000_000, "signature": "0x" + "ab" * 65, "typed_data": {"message": {"nonce": str(nonce)}}}


@pytest.fixture
def parties(store):
    p = PartyStore(store.engine)
    return p.create("acme", "factory", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), \
        p.create("globex", "factory", "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65")


def test_kept_once_per_nonce_and_listed_by_factory_or_token(store, parties):
    acme, globex = parties
    kept = PledgeExtensions(store.engine, 31337, REGISTRY)
    first = kept.put(acme.id, doc(1, 2**255))
    assert kept.put(acme.id, doc(1, 2**255)) == first  # a retry answers the row kept
    with pytest.raises(ConflictError, match="a nonce signs one extension"):
        kept.put(acme.id, doc(2, 2**255))  # the registry would take that nonce once
    second = kept.put(globex.id, doc(2, 2**255))  # another factory's nonce space
    third = kept.put(acme.id, doc(3, 7, lien_end=2_000_000_000))
    assert [e.id for e in kept.list()] == [first.id, second.id, third.id]
    assert [e.id for e in kept.list(factory_party=acme.id)] == [first.id, third.id]
    assert [e.id for e in kept.list(token_ids={2, 3})] == [second.id, third.id]
    assert kept.list(token_ids=set()) == []
    assert kept.get(third.id).document == doc(3, 7, lien_end=2_000_000_000)
    assert kept.get(10**6) is None
    # another registry (a redeployment) sees none of them
    other = PledgeExtensions(store.engine, 31337, "0x" + "12" * 20)
    assert other.list() == [] and other.get(first.id) is None
