"""The idempotency keys and the activity counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from ledger.store.activity import RecordActivity
from ledger.store.idempotency import IdempotencyKeys
from ledger.store.parties import PartyStore


def _rec(rid: str, ts: str, kind: str) -> dict:
    return {"id": rid, "ts": ts, "type": kind, "data": {}}


def test_an_answer_is_kept_once_per_party_and_key(store):
    parties = PartyStore(store.engine)
    a, b = parties.create("a", "factory").id, parties.create("b", "factory").id
    keys = IdempotencyKeys(store.engine)
    assert keys.get(a, "k1") is None
    keys.put(a, "k1", b"\x01" * 32, 200, b'{"size":1}')
    keys.put(a, "k1", b"\x02" * 32, 201, b'{"size":2}')  # a concurrent retry: the first stays
    kept = keys.get(a, "k1")
    assert (kept.request_sha256, kept.status_code, kept.body) == (b"\x01" * 32, 200, b'{"size":1}')
    assert keys.get(b, "k1") is None  # another party's key of the same name is another key


def test_activity_counts_the_newest_records_per_utc_day_and_type(store):
    store.create_log("s")
    store.append("s", enumerate([
        _rec("r0", "2026-11-01T08:00:00+08:00", "a"),  # 2026-11-01 00:00 UTC
        _rec("r1", "2026-11-01T07:59:59+08:00", "b"),  # still 2026-10-31 in UTC
        _rec("r2", "2026-11-02T12:00:00Z", "a"),
        _rec("r3", "2026-11-02T13:00:00Z", "a"),
    ], 1))
    everything = RecordActivity(store).newest("s", 4, 10)
    assert (everything.start, everything.end, everything.types) == (0, 4, ["a", "b"])
    assert everything.days == [("2026-10-31", {"b": 1}), ("2026-11-01", {"a": 1}), ("2026-11-02", {"a": 2})]
    newest = RecordActivity(store).newest("s", 4, 2)
    assert (newest.start, newest.days) == (2, [("2026-11-02", {"a": 2})])
