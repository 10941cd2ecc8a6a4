"""The logs use cases (``ledger.service.logs``), on SQLite and on PostgreSQL: one home for what
``dpl log``/``dpl ingest`` and ``/v1/logs`` both do. The chain-bound ones (the checkpoint a
wallet factory signs, its signatures) run on anvil in ``tests/api/test_factory_signatures.py``."""

from __future__ import annotations

import io

import orjson
import pytest

from ledger import merkle
from ledger.chain.client import log_id_of
from ledger.errors import ConflictError, InvalidArgumentError, NotFoundError, RecordError
from ledger.service.context import Context
from ledger.service.idempotency import IdempotencyKeyReused, Replays
from ledger.service.logs import Logs, NoFactoryAddress
from ledger.service.proofs import Proofs

ACME = "0x" + "11" * 20
GLOBEX = "0x" + "22" * 20


def _rec(i: int, **over) -> dict:
    return {"id": f"r-{i}", "ts": f"2026-10-0{1 + i % 3}T08:00:00Z", "type": "iot.telemetry" if i % 2 else "mes.work_order",
            "data": {"n": i}, **over}


def _lines(records) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(r) + b"\n" for r in records))


@pytest.fixture
def ctx(backend):
    c = Context(backend)
    yield c
    c.close()


def _party(ctx, name, role, address=None):
    return ctx.parties.create(name, role, address, None)


def test_a_log_bound_to_a_factory_gets_its_on_chain_id_at_creation_else_none(ctx):
    logs = Logs(ctx)
    bound = logs.create("line-a", ACME)
    assert bound.log_id == log_id_of(ACME, "line-a") and logs.view("line-a").factory == ACME
    unbound = logs.create("line-b")
    assert unbound.log_id is None and logs.view("line-b").factory is None  # bound at its first anchor
    with pytest.raises(ConflictError):
        logs.create("line-a", ACME)
    with pytest.raises(InvalidArgumentError):
        logs.create("../etc", ACME)


def test_a_party_s_log_is_namespaced_bound_to_its_address_and_owned_by_it(ctx):
    logs = Logs(ctx)
    acme = _party(ctx, "acme", "factory", ACME)
    info = logs.create_for_party(acme, "line-a")
    assert info.stream == "acme/line-a" and info.log_id == log_id_of(ACME, "acme/line-a")
    assert ctx.parties.owner_of(info.pk) == acme.id
    nameless = _party(ctx, "nameless", "factory")
    with pytest.raises(NoFactoryAddress):
        logs.create_for_party(nameless, "line-a")
    assert [v.stream for v in logs.visible_to(None)] == ["acme/line-a"]  # nothing was created for it


def test_a_party_s_log_and_its_owner_are_written_together_or_not_at_all(ctx):
    """Before, the route created the log, then recorded its owner in a second transaction: a
    failure between them left a log nobody could see or create again (409 "already exists")."""
    from sqlalchemy.exc import IntegrityError

    from ledger.store.parties import PartyInfo

    ghost = PartyInfo(id=987654, name="ghost", role="factory", address=ACME, key_name=None)  # no such party row
    with pytest.raises(IntegrityError):
        Logs(ctx).create_for_party(ghost, "line-a")
    assert Logs(ctx).visible_to(None) == []
    acme = _party(ctx, "ghost", "factory", ACME)
    assert Logs(ctx).create_for_party(acme, "line-a").stream == "ghost/line-a"  # the name is free


def test_a_factory_sees_its_own_logs_other_readers_every_log(ctx):
    logs = Logs(ctx)
    acme, globex = _party(ctx, "acme", "factory", ACME), _party(ctx, "globex", "factory", GLOBEX)
    auditor = _party(ctx, "aud", "auditor")
    mine = logs.create_for_party(acme, "a")
    theirs = logs.create_for_party(globex, "a")
    assert [v.stream for v in logs.visible_to(acme)] == ["acme/a"]
    assert [v.stream for v in logs.visible_to(auditor)] == ["acme/a", "globex/a"]
    assert [v.stream for v in logs.visible_to(None)] == ["acme/a", "globex/a"]  # dpl's local operator
    assert [v.factory for v in logs.visible_to(None)] == [ACME, GLOBEX]
    assert logs.by_log_id(mine.log_id, acme) == mine and logs.by_log_id(theirs.log_id, auditor) == theirs
    # another factory's log and a missing one: the same refusal, word for word
    with pytest.raises(NotFoundError) as other:
        logs.by_log_id(theirs.log_id, acme)
    with pytest.raises(NotFoundError) as missing:
        logs.by_log_id(b"\xab" * 32, acme)
    assert str(other.value) == str(missing.value) == "no such log"


def test_ingest_is_all_or_nothing_and_idempotent_by_record_id_from_any_reader(ctx):
    logs = Logs(ctx)
    logs.create("s")
    first = logs.ingest("s", logs.read(_lines([_rec(i) for i in range(4)]), "jsonl"))
    assert (first.appended, first.duplicates, first.size) == (4, 0, 4)
    seen = []
    body = io.BytesIO(orjson.dumps([_rec(2), _rec(4)]))  # a JSON array, as the API's bodies are
    again = logs.ingest("s", logs.read(body, "json"), on_duplicate=lambda *a: seen.append(a))
    assert (again.appended, again.duplicates, again.size) == (1, 1, 5) and seen == [(1, "r-2", 2)]
    before = logs.get("s")
    with pytest.raises(ConflictError):  # same id, other content: nothing of the batch is kept
        logs.ingest("s", logs.read(_lines([_rec(5), _rec(0, data={"n": 99})]), "jsonl"))
    with pytest.raises(RecordError) as bad:
        logs.ingest("s", logs.read(io.BytesIO(orjson.dumps([_rec(6), {"id": "x"}])), "json"))
    assert bad.value.position == 2  # a JSON array's record is named by its 1-based position
    assert logs.get("s") == before
    with pytest.raises(InvalidArgumentError, match="format"):
        logs.read(io.BytesIO(b""), "xml")


def test_json_array_bodies_are_read_strictly(ctx):
    with pytest.raises(RecordError, match="array"):
        list(Logs.read(io.BytesIO(b'{"id": "x"}'), "json"))
    with pytest.raises(RecordError, match="not JSON"):
        list(Logs.read(io.BytesIO(b"[{"), "json"))
    with pytest.raises(RecordError) as dup:  # orjson alone would keep the last "n"
        list(Logs.read(io.BytesIO(b'[{"id": "x", "ts": "2026-10-01T00:00:00Z", "type": "t", "data": {"n": 1, "n": 2}}]'),
                       "json"))
    assert dup.value.position == 1


def test_checkpoints_leaves_and_activity_of_a_log(ctx):
    logs = Logs(ctx)
    info = logs.create("s", ACME)
    logs.ingest("s", logs.read(_lines([_rec(i) for i in range(3)]), "jsonl"))
    logs.ingest("s", logs.read(_lines([_rec(i) for i in range(3, 5)]), "jsonl"))
    info = logs.get("s")
    cps = logs.checkpoints(info)
    assert [(c.size, c.anchor) for c in cps] == [(3, None), (5, None)]
    assert cps[-1].root == info.root and cps[-1].as_json()["root"] == "0x" + info.root.hex()
    hashes = logs.leaf_hashes(info, 1, 10)
    assert len(hashes) == 4 and merkle.root(logs.leaf_hashes(info, 0, 5)) == info.root
    assert logs.leaf_hashes(info, 7, 10) == []
    counted = logs.activity(info, 4)
    assert (counted.start, counted.end) == (1, 5) and counted.types == ["iot.telemetry", "mes.work_order"]
    assert sum(sum(c.values()) for _, c in counted.days) == 4


def test_a_record_the_log_does_not_hold_is_not_found_at_both_edges(ctx):
    """Drift: the API answered 404 for an index at or beyond the log's size, ``dpl prove``
    "index N is outside a log of size S" (an invalid argument). The API was right: the record
    does not exist (yet), as a missing record id does not; a size that does not cover an
    existing record stays an invalid argument."""
    logs = Logs(ctx)
    logs.create("s")
    logs.ingest("s", logs.read(_lines([_rec(i) for i in range(3)]), "jsonl"))
    proofs = Proofs(ctx.store)
    with pytest.raises(NotFoundError, match="no record at index 3"):
        proofs.record_bundle("s", 3)
    with pytest.raises(NotFoundError):
        proofs.record_bundle("s", 3, size=2)  # missing whatever size says
    with pytest.raises(InvalidArgumentError):
        proofs.record_bundle("s", 2, size=2)  # it exists, but not in the first 2 records
    assert proofs.record_bundle("s", 2)["entries"][0]["index"] == 2


def test_an_idempotency_key_replays_only_the_request_it_named(ctx):
    acme = _party(ctx, "acme", "factory", ACME)
    replays = Replays(ctx)
    assert replays.answered(acme.id, "k", b"\x01" * 32) is None
    replays.keep(acme.id, "k", b"\x01" * 32, 200, b'{"appended": 1}')
    replays.keep(acme.id, "k", b"\x01" * 32, 200, b'{"appended": 0}')  # a concurrent retry: the first stays
    assert replays.answered(acme.id, "k", b"\x01" * 32).body == b'{"appended": 1}'
    with pytest.raises(IdempotencyKeyReused):
        replays.answered(acme.id, "k", b"\x02" * 32)
