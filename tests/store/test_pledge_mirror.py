"""The pledge mirror applies chain events in one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ledger.pledge.terms import Terms
from ledger.store.pledges import PledgeMirror, SyncPoint

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
A, B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
LOG = bytes(range(32))


def issued(token: int, block: int, start: int = 0, end: int = 10, lender: str = A) -> dict:
    terms = Terms(LOG, start, end, 100, b"\x01" * 32, 2**200, "CNY", 1_800_000_000, 1_900_000_000, 1_920_000_000, 5,
                  b"\x02" * 32, lender)
    return {"event": "PledgeIssued", "token_id": token, "block_number": block, "terms": terms, "factory": B,
            "holder": lender, "nonce": 2**255 + 1, "issue_tx": b"\x03" * 32}


@pytest.fixture
def mirror(store) -> PledgeMirror:
    return PledgeMirror(store.engine, 31337, REGISTRY)


def test_events_build_the_rows_in_order(mirror):
    assert mirror.sync_point() is None
    mirror.apply([
        issued(1, 5), issued(2, 6, 10, 20),
        {"event": "PledgeTransferred", "token_id": 1, "block_number": 7, "to": B},
        {"event": "PledgeExtended", "token_id": 1, "block_number": 8, "new_lien_end": 1_910_000_000},
        {"event": "PledgeExtended", "token_id": 2, "block_number": 8, "new_lien_end": 1_950_000_000},
        {"event": "PledgeDefaulted", "token_id": 2, "block_number": 9},
        {"event": "PledgeReleased", "token_id": 1, "block_number": 10},
    ], SyncPoint(10, b"\xaa" * 32), rebuild=False)
    one, two = mirror.get(1), mirror.get(2)
    assert (one["status"], one["holder"], one["updated_block"]) == ("released", None, 10)
    assert (two["status"], two["holder"], two["lien_end"]) == ("defaulted", A, 1_950_000_000)
    # within the factory's bound the bound stays; past it (the factory signed an extension) it follows
    assert (one["lien_end"], one["max_lien_end"]) == (1_910_000_000, 1_920_000_000)
    assert two["max_lien_end"] == 1_950_000_000
    assert two["principal"] == str(2**200) and two["nonce"] == str(2**255 + 1)  # beyond any SQL integer
    assert mirror.sync_point() == SyncPoint(10, b"\xaa" * 32)
    assert [p["token_id"] for p in mirror.list(log_id=LOG)] == [1, 2]
    assert [p["token_id"] for p in mirror.list(holder=A)] == [2]
    assert mirror.list(log_id=b"\x00" * 32) == []


def test_replaying_blocks_is_harmless_and_rebuild_starts_over(mirror):
    mirror.apply([issued(1, 5)], SyncPoint(5, b"\x01" * 32), rebuild=False)
    mirror.apply([issued(1, 5), issued(2, 6, 20, 30)], SyncPoint(6, b"\x02" * 32), rebuild=False)
    assert [p["token_id"] for p in mirror.list()] == [1, 2]
    mirror.apply([issued(3, 9)], SyncPoint(9, b"\x03" * 32), rebuild=True)  # e.g. after a reorg
    assert [p["token_id"] for p in mirror.list()] == [3]
    assert mirror.sync_point().block_number == 9


def test_a_failed_apply_changes_nothing(mirror):
    mirror.apply([issued(1, 5)], SyncPoint(5, b"\x01" * 32), rebuild=False)
    with pytest.raises(KeyError):  # an event the mirror does not know, after a good one
        mirror.apply([issued(2, 6, 20, 30), {"event": "Bogus", "token_id": 2, "block_number": 6}],
                     SyncPoint(6, b"\x02" * 32), rebuild=True)
    assert [p["token_id"] for p in mirror.list()] == [1]
    assert mirror.sync_point() == SyncPoint(5, b"\x01" * 32)


def test_mirrors_of_two_registries_do_not_mix(store, mirror):
    other = PledgeMirror(store.engine, 31337, "0x" + "11" * 20)
    mirror.apply([issued(1, 5)], SyncPoint(5, b"\x01" * 32), rebuild=False)
    other.apply([issued(1, 7, 50, 60)], SyncPoint(7, b"\x02" * 32), rebuild=True)
    assert mirror.get(1)["start"] == 0 and other.get(1)["start"] == 50
    assert mirror.sync_point().block_number == 5


def test_the_mirror_keeps_every_field_of_the_terms(mirror):
    """One terms type: a ``PledgeIssued`` event carries ``Terms``, and each of its fields is a column."""
    from dataclasses import fields

    event = issued(1, 5)
    mirror.apply([event], SyncPoint(5, b"\x01" * 32), rebuild=False)
    row = mirror.get(1)
    for field in fields(Terms):
        value = getattr(event["terms"], field.name)
        assert row[field.name] == (str(value) if field.name == "principal" else value), field.name


def test_holdings_keep_each_period_and_how_it_ended(mirror):
    """Issue → A, transfer A → B, release: A's period ended by the transfer (to B, block and tx),
    B's by the release; the pledges table keeps only the present (released, no holder)."""
    t1, t2 = b"\x11" * 32, b"\x22" * 32
    mirror.apply([issued(1, 5), issued(2, 6, 10, 20),
                  {"event": "PledgeTransferred", "token_id": 1, "block_number": 7, "to": B, "tx": t1},
                  {"event": "PledgeDefaulted", "token_id": 2, "block_number": 8, "tx": b"\x44" * 32},
                  {"event": "PledgeReleased", "token_id": 1, "block_number": 9, "tx": t2}],
                 SyncPoint(9, b"\xaa" * 32), rebuild=False)
    periods = mirror.holdings(token_id=1)
    assert [(h["holder"], h["since_block"], h["until_block"], h["ended"], h["ended_to"]) for h in periods] == [
        (A, 5, 7, "transferred", B), (B, 7, 9, "released", None)]
    assert (periods[0]["since_tx"], periods[0]["until_tx"], periods[1]["since_tx"], periods[1]["until_tx"]) == (
        b"\x03" * 32, t1, t1, t2)
    # a default does not end a holding: the holder keeps the pledge
    assert [(h["token_id"], h["until_block"], h["ended"]) for h in mirror.holdings(holder=A)] == [
        (1, 7, "transferred"), (2, None, None)]
    assert mirror.list(holder=A)[0]["token_id"] == 2 and mirror.get(1)["holder"] is None


def test_holdings_come_back_on_replay_and_rebuild(mirror):
    """Replaying an issue starts the token's periods over (no duplicate); a rebuild clears them
    with the pledges, so ``dpl pledge sync --full`` rebuilds them from the chain."""
    move = {"event": "PledgeTransferred", "token_id": 1, "block_number": 7, "to": B, "tx": b"\x11" * 32}
    mirror.apply([issued(1, 5), move], SyncPoint(7, b"\x01" * 32), rebuild=False)
    mirror.apply([issued(1, 5), move], SyncPoint(7, b"\x01" * 32), rebuild=False)
    assert [(h["holder"], h["ended"]) for h in mirror.holdings()] == [(A, "transferred"), (B, None)]
    mirror.apply([issued(3, 9)], SyncPoint(9, b"\x03" * 32), rebuild=True)
    assert [(h["token_id"], h["holder"]) for h in mirror.holdings()] == [(3, A)]


def test_a_failed_apply_leaves_the_holdings(mirror):
    mirror.apply([issued(1, 5)], SyncPoint(5, b"\x01" * 32), rebuild=False)
    with pytest.raises(KeyError):
        mirror.apply([{"event": "PledgeReleased", "token_id": 1, "block_number": 6, "tx": b"\x01" * 32},
                      {"event": "Bogus", "token_id": 1, "block_number": 6}], SyncPoint(6, b"\x02" * 32), rebuild=True)
    assert [(h["holder"], h["until_block"]) for h in mirror.holdings()] == [(A, None)]
