"""A log found by its on-chain id with an indexed query (migration 0011), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from ledger.chain.client import log_id_of

FACTORY = "0x" + "11" * 20


def test_a_log_is_found_by_its_on_chain_id(store):
    ids = {}
    for stream in ("acme/a", "acme/b", "acme/c"):
        ids[stream] = log_id_of(FACTORY, stream)
        store.create_log(stream, FACTORY, ids[stream])
    store.create_log("unbound")  # no on-chain id yet
    for stream, log_id in ids.items():
        found = store.find_by_log_id(log_id)
        assert (found.stream, found.log_id) == (stream, log_id)
    assert store.find_by_log_id(b"\x00" * 32) is None
    assert store.find_by_log_id(log_id_of(FACTORY, "unbound")) is None


def test_a_log_bound_later_is_found_with_its_size(store):
    store.create_log("late")
    store.append("late", enumerate([{"id": "r", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}}], 1))
    log_id = log_id_of(FACTORY, "late")
    assert store.find_by_log_id(log_id) is None
    store.bind_log("late", FACTORY, log_id)
    found = store.find_by_log_id(log_id)
    assert (found.stream, found.size, found.root) == ("late", 1, store.get_log("late").root)


def test_the_on_chain_id_is_indexed(store):
    indexes = {i["name"]: i["column_names"] for i in inspect(store.engine).get_indexes("logs")}
    assert indexes.get("ix_logs_log_id") == ["log_id"]
