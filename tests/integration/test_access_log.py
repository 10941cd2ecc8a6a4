"""The access log on a real anvil, on SQLite and PostgreSQL: the anchoring run anchors it like any
other log, signed by the service's key; every entry's proof verifies against the anchored root
through the pinned registry (``dpl verify --rpc``'s checks), a receipt matches its entry, and
``AccessLog.verify`` proves every entry's inclusion and the checkpoints' consistency."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ledger import bundles
from ledger.chain.check import verify_on_chain
from ledger.errors import BundleError
from ledger.service.access_log import AccessLog, NotAnchoredYet, access_stream, check_receipt
from ledger.service.anchoring import anchor_once
from ledger.service.context import Context
from ledger.settings import Settings
from tests.api.conftest import PASSPHRASE, chain_home

LOG = "0x" + "33" * 32


def _world(backend):
    with chain_home(backend.home) as (rpc_url, keyring, record):
        settings = backend.model_copy(update={"rpc_url": rpc_url, "key_passphrase": SecretStr(PASSPHRASE)})
        ctx = Context(settings)
        acme = ctx.parties.create("acme", "factory", keyring.info("dev1").address, "dev1")
        bank = ctx.parties.create("bank-a", "lender", keyring.info("dev2").address, "dev2")
        try:
            yield ctx, acme, bank, rpc_url, keyring
        finally:
            ctx.close()


@pytest.fixture
def world(backend):
    yield from _world(backend)


@pytest.fixture
def sqlite_world(tmp_path):
    """The command line's story runs once, on SQLite: the access log on PostgreSQL is covered by
    the other tests here and tests/service/test_access_log.py."""
    yield from _world(Settings(home=tmp_path / "home", database_url=None))


def _read(access, acme, bank, i, outcome="read"):
    return access.record(factory_party=acme, reader_party=bank, key_prefix="0a1b2c3d", grant_id=1, log_id=LOG,
                         indices=(i, i + 10), fields={"mes.work_order": ["qty_good"]}, outcome=outcome,
                         reason="the grant was revoked" if outcome == "refused" else None)


def test_every_read_is_proven_against_an_anchored_root_of_the_service_s_own_log(world):
    ctx, acme, bank, rpc_url, keyring = world
    access = AccessLog(ctx)
    receipts = [_read(access, acme, bank, i) for i in range(3)] + [_read(access, acme, bank, 3, "refused")]
    with pytest.raises(NotAnchoredYet):
        access.proof(acme, 0)

    reports = {r.stream: r for r in anchor_once(ctx)}
    assert reports[access_stream(acme.address)].state in ("included", "final")
    service = keyring.info("dev0").address  # DPL_RELAYER_KEY: the log's owner on chain
    for receipt in receipts:
        bundle = access.proof(acme, receipt.index)
        record = check_receipt(receipt.as_json(), bundle)
        assert record["data"]["party"] == "bank-a"
        checks = verify_on_chain(bundles.verify(bundle), rpc_url, ctx.settings.home, factory=service)
        assert [c.name for c in checks] == ["registry", "bundle names this registry", "factory", "expected factory",
                                            "anchor", "anchor transaction"]
    assert record["data"]["outcome"] == "refused"
    with pytest.raises(BundleError, match="leaf hash"):  # a receipt for another entry does not match
        check_receipt({**receipts[1].as_json(), "index": 0}, access.proof(acme, 0))

    [report] = access.verify()
    assert (report.owner, report.checkpoints, report.consistent, report.included, report.unanchored,
            report.failures) == (service, 1, 0, 4, 0, [])

    more = [_read(access, acme, bank, i) for i in range(4, 6)]
    [report] = access.verify()
    assert (report.included, report.unanchored) == (4, 2)  # not anchored yet: counted, not proven
    anchor_once(ctx)
    [report] = access.verify(factory=acme)
    assert (report.checkpoints, report.consistent, report.included, report.unanchored, report.failures) == \
        (2, 1, 6, 0, [])
    assert access.proof(acme, more[-1].index)["checkpoint"]["size"] == 6
    consistency = access.consistency(acme, 4, 6)
    assert bundles.verify(consistency).format == "dpl-consistency/1"


def _dpl(ctx, *args, ok=True):
    import os
    import subprocess
    import sys

    s = ctx.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env.update(DPL_HOME=str(s.home), DPL_RPC_URL=s.rpc_url, DPL_KEY_PASSPHRASE=PASSPHRASE,
               **({"DATABASE_URL": s.database_url} if s.database_url else {}))
    proc = subprocess.run([sys.executable, "-m", "ledger.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert (proc.returncode == 0) == ok, (args, proc.stdout, proc.stderr)
    if not ok:
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stdout, proc.stderr


def test_the_command_line_lists_verifies_and_checks_a_receipt(sqlite_world, tmp_path):
    import json

    ctx, acme, bank, rpc_url, keyring = sqlite_world
    access = AccessLog(ctx)
    receipts = [_read(access, acme, bank, i) for i in range(2)]
    anchor_once(ctx)
    stream = access_stream(acme.address)
    out, _ = _dpl(ctx, "access-log", "list")
    assert stream in out and "2 entries" in out
    listed = json.loads(_dpl(ctx, "access-log", "list", "--factory", "acme", "--json")[0])
    assert [(e["index"], e["leaf_hash"]) for e in listed] == [(r.index, r.leaf_hash) for r in receipts]
    [report] = json.loads(_dpl(ctx, "access-log", "verify", "--json")[0])
    assert (report["included"], report["checkpoints"], report["failures"]) == (2, 1, [])
    out, _ = _dpl(ctx, "access-log", "verify", "--factory", acme.address)
    assert "2 of 2 entries proven included" in out

    service = keyring.info("dev0").address
    receipt, proof = tmp_path / "receipt.json", tmp_path / "proof.json"
    receipt.write_text(json.dumps({"rows": [], "receipt": receipts[1].as_json()}))
    proof.write_text(json.dumps(access.proof(acme, 1)))
    out, _ = _dpl(ctx, "access-log", "check-receipt", str(receipt), str(proof), "--service", service)
    assert out.startswith("valid: entry 1 of access log") and "anchor transaction:" in out
    receipt.write_text(json.dumps({**receipts[1].as_json(), "leaf_hash": receipts[0].leaf_hash}))
    _, err = _dpl(ctx, "access-log", "check-receipt", str(receipt), str(proof), ok=False)
    assert "leaf hash" in err
    receipt.write_text(json.dumps(receipts[1].as_json()))
    _, err = _dpl(ctx, "access-log", "check-receipt", str(receipt), str(proof), "--service", acme.address, ok=False)
    assert f"not to the expected factory {acme.address}" in err  # the access log is the service's, not acme's

    out, _ = _dpl(ctx, "audit")  # the ordinary audit takes the access log as any log: no finding
    assert "audited 1 log(s), 2 record(s)" in out and out.strip().endswith("clean")

    # an entry changed in the database (its leaf hash and payload swapped for entry 1's) is found
    from sqlalchemy import text

    pk = ctx.store.get_log(stream).pk
    with ctx.store.engine.begin() as conn:
        one = conn.execute(text("SELECT leaf_hash, sealed FROM records WHERE log_pk = :p AND idx = 1"), {"p": pk}).one()
        conn.execute(text("UPDATE records SET leaf_hash = :l, sealed = :s WHERE log_pk = :p AND idx = 0"),
                     {"l": one.leaf_hash, "s": one.sealed, "p": pk})
    out, err = _dpl(ctx, "access-log", "verify", ok=False)
    assert "entry 0 is not included under the anchored root at size 2" in out and "1 problem(s)" in err

    _, err = _dpl(ctx, "log", "create", "dpl-access/mine", ok=False)
    assert "reserved" in err
    forged = tmp_path / "forged.jsonl"
    forged.write_text('{"id":"x","ts":"2026-12-07T00:00:00Z","type":"dpl.access","data":{}}\n')
    _, err = _dpl(ctx, "ingest", "--log", stream, str(forged), ok=False)
    assert "only the service appends" in err
    assert ctx.store.get_log(stream).size == 2
