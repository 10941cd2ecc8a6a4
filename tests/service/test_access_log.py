"""The access log (``ledger.service.access_log``), on SQLite and on PostgreSQL: every read through
a grant is an entry of the factory's access log, an ordinary log of the store that no party can
create or append to, owned by the service's key; concurrent entries get distinct indices and none
is lost. Its anchoring and proofs against the chain are ``tests/integration/test_access_log.py``."""

from __future__ import annotations

import hashlib
import threading

import pytest
from pydantic import SecretStr

from ledger.chain.client import log_id_of
from ledger.errors import ConflictError, ForbiddenError, InvalidArgumentError, NotFoundError
from ledger.keys import Keyring
from ledger.service.access_log import ENTRY_TYPE, AccessLog, NotAnchoredYet, Receipt, access_stream
from ledger.service.context import Context
from ledger.service.logs import Logs

ACME = "0x" + "aB" * 20
GLOBEX = "0x" + "22" * 20
LOG = "0x" + "33" * 32


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory):
    """The dev keys, imported once (a keystore takes a while to write)."""
    home = tmp_path_factory.mktemp("keys")
    Keyring(home, lambda: "pw").import_dev()
    return home / "keys"


@pytest.fixture
def ctx(backend, keys_dir):
    settings = backend.model_copy(update={"key_passphrase": SecretStr("pw")})
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "keys").symlink_to(keys_dir)
    c = Context(settings)
    yield c
    c.close()


def _parties(ctx):
    acme = ctx.parties.create("acme", "factory", ACME, None)
    bank = ctx.parties.create("bank-a", "lender", "0x" + "44" * 20, None)
    return acme, bank


def _read(log: AccessLog, acme, bank, **over) -> Receipt:
    args = dict(factory_party=acme, reader_party=bank, key_prefix="0a1b2c3d", grant_id=7, log_id=LOG,
                indices=(10, 20), fields={"mes.work_order": ["qty_good", "product"], "iot.telemetry": "*"})
    return log.record(**{**args, **over})


def test_a_read_is_an_entry_of_the_factory_s_access_log_owned_by_the_service_s_key(ctx):
    acme, bank = _parties(ctx)
    access = AccessLog(ctx, clock=lambda: "2026-12-07T02:00:00.000Z")
    assert access.entries(acme) == [] and access.log(acme) is None  # nothing read yet: no log
    receipt = _read(access, acme, bank)

    service = ctx.keyring.info("dev0").address  # DPL_RELAYER_KEY's default
    stream = access_stream(ACME)
    assert stream == "dpl-access/0x" + "ab" * 20
    info = ctx.store.get_log(stream)
    assert info.log_id == log_id_of(service, stream) and ctx.store.factory_of(stream) == service
    assert receipt == Receipt("0x" + info.log_id.hex(), 0, "0x" + ctx.store.record_at(stream, 0).leaf_hash.hex())
    assert receipt.as_json() == {"access_log": receipt.log_id, "index": 0, "leaf_hash": receipt.leaf_hash}

    stored = ctx.store.record_at(stream, 0)
    assert stored.record["type"] == ENTRY_TYPE and stored.record["ts"] == "2026-12-07T02:00:00.000Z"
    assert stored.record["data"] == {
        "party": "bank-a", "role": "lender", "address": bank.address, "key_prefix": "0a1b2c3d", "grant_id": 7,
        "log_id": LOG, "records": {"from": 10, "to": 20},
        "fields": {"iot.telemetry": "*", "mes.work_order": ["product", "qty_good"]}, "outcome": "read",
        "reason": None}
    [listed] = access.entries(acme)
    assert listed["index"] == 0 and listed["leaf_hash"] == receipt.leaf_hash and listed["party"] == "bank-a"
    assert access.entries(ACME) == [listed]  # by address too (an auditor's ?factory=)
    assert access.entries(GLOBEX) == []  # another factory's log is another log


def test_a_list_of_indices_is_kept_as_its_count_and_digest_and_a_refusal_with_its_reason(ctx):
    acme, bank = _parties(ctx)
    access = AccessLog(ctx)
    _read(access, acme, bank, indices=[9, 3, 5, 3])
    _read(access, acme, bank, indices=(0, 0), fields={}, outcome="refused", reason="the grant was revoked")
    first, second = access.entries(acme)
    assert first["records"] == {"count": 3, "indices_sha256": "0x" + hashlib.sha256(b"[3,5,9]").hexdigest()}
    assert (second["index"], second["outcome"], second["reason"]) == (1, "refused", "the grant was revoked")


def test_concurrent_entries_get_distinct_indices_and_none_is_lost(ctx):
    acme, bank = _parties(ctx)
    receipts, errors = [], []

    def reads(worker):
        access = AccessLog(ctx)  # one per request, as the routes make them
        for i in range(8):
            try:
                receipts.append(_read(access, acme, bank, grant_id=worker * 100 + i))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

    threads = [threading.Thread(target=reads, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(r.index for r in receipts) == list(range(48))
    entries = AccessLog(ctx).entries(acme)
    assert sorted(e["grant_id"] for e in entries) == sorted(w * 100 + i for w in range(6) for i in range(8))
    assert {r.index: r.leaf_hash for r in receipts} == {e["index"]: e["leaf_hash"] for e in entries}


def test_no_party_or_operator_creates_or_appends_to_an_access_log(ctx):
    acme, bank = _parties(ctx)
    _read(AccessLog(ctx), acme, bank)
    logs, stream = Logs(ctx), access_stream(ACME)
    for name in ("dpl-access/0x" + "cc" * 20, "DPL-Access/x", "dpl-access"):
        with pytest.raises(InvalidArgumentError, match="reserved"):
            logs.create(name, GLOBEX)
    squatter = ctx.parties.create("dpl-access", "factory", GLOBEX, None)  # its streams would be dpl-access/…
    with pytest.raises(InvalidArgumentError, match="reserved"):
        logs.create_for_party(squatter, "0x" + "ab" * 20)
    forged = {"id": "x", "ts": "2026-12-07T02:00:00Z", "type": ENTRY_TYPE, "data": {}}
    with pytest.raises(ForbiddenError, match="only the service appends"):
        logs.ingest(stream, [(1, forged)])
    assert ctx.store.get_log(stream).size == 1


def test_an_entry_that_cannot_be_written_raises_and_nothing_is_kept(ctx):
    acme, bank = _parties(ctx)
    access = AccessLog(ctx)
    with pytest.raises(InvalidArgumentError, match="outcome"):
        _read(access, acme, bank, outcome="peeked")
    with pytest.raises(InvalidArgumentError, match="index range"):
        _read(access, acme, bank, indices=(5, 2))
    assert access.log(acme) is None
    ctx.settings = ctx.settings.model_copy(update={"relayer_key": "nobody"})
    with pytest.raises(ConflictError, match="not in the keyring"):
        _read(access, acme, bank)
    assert access.log(acme) is None
    unbound = ctx.parties.create("noaddr", "factory", None, None)
    with pytest.raises(ConflictError, match="no chain address"):
        _read(access, unbound, bank)


def test_a_proof_is_refused_until_an_anchored_checkpoint_covers_the_entry(ctx):
    acme, bank = _parties(ctx)
    access = AccessLog(ctx)
    with pytest.raises(NotFoundError, match="no access log"):
        access.proof(acme, 0)
    _read(access, acme, bank)
    with pytest.raises(NotAnchoredYet):
        access.proof(acme, 0)
    bundle = access.proof(acme, 0, anchored=False)
    assert bundle["anchor"] is None and bundle["entries"][0]["leaf_hash"] == access.entries(acme)[0]["leaf_hash"]
    assert access.reader_of(bundle) == "bank-a"
