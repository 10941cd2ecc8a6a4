"""dpl grants create|list|revoke|read on the local store, acting as the party whose API key is in
DPL_API_KEY: the factory grants and revokes, the lender reads only the granted fields (the file
holds no hidden value), another lender and a revoked grant are refused in one line; reads and the
refusal are in the factory's access log, and a read that cannot be recorded fails."""

from __future__ import annotations

import json
import stat

import pytest

from tests.cli.test_cli import dpl  # noqa: F401 (fixture)

pytestmark = pytest.mark.cli
SECRET = "HIDDEN-CUSTOMER-3b8d1f"
ACME, BANK, OTHER = "0x" + "22" * 20, "0x" + "33" * 20, "0x" + "44" * 20


def _key(dpl, role, party, address) -> str:
    return json.loads(dpl("keys", "api", "--role", role, "--party", party, "--address", address, "--json")[1])["key"]


def _owned_log(home, factory_party: str) -> str:
    """A log owned by the factory party (as one made over the API is), with 12 records."""
    from ledger.service.context import Context
    from ledger.service.logs import Logs
    from ledger.settings import Settings

    ctx = Context(Settings(home=home, database_url=None))
    try:
        party = ctx.parties.get(factory_party)
        info = Logs(ctx).create("acme/line-a", party.address, owner=party.id)
        records = [{"id": f"r-{i}", "ts": f"2026-11-01T08:{i:02d}:00+08:00",
                    "type": "mes.work_order" if i % 2 else "iot.telemetry",
                    "data": {"qty_good": i, "customer": f"{SECRET}-{i}"} if i % 2 else {"machine": "cnc-01", "n": i}}
                   for i in range(12)]
        Logs(ctx).ingest(info.stream, enumerate(records))
        return "0x" + info.log_id.hex()
    finally:
        ctx.close()


def test_grant_read_revoke(dpl):
    acme, bank, other = _key(dpl, "factory", "acme", ACME), _key(dpl, "lender", "bank", BANK), \
        _key(dpl, "lender", "other", OTHER)
    log_id = _owned_log(dpl.home, "acme")
    grant = {"format": "dpl-grant/1", "lender": BANK, "logs": [log_id], "records": {"from": 0, "to": 10},
             "types": {"mes.work_order": ["qty_good"], "iot.telemetry": ["*"]}, "expires": "2099-01-01T00:00:00Z"}
    (dpl.tmp / "grant.json").write_text(json.dumps(grant))
    as_ = lambda key: {"DPL_API_KEY": key}  # noqa: E731

    _, out, _ = dpl("grants", "create", "grant.json", extra_env=as_(acme))
    assert out.startswith("grant 1  live  lender 0x3333333333333333333333333333333333333333  factory acme")
    _, _, err = dpl("grants", "create", "grant.json", ok=False, extra_env=as_(bank))
    assert err.strip() == "error: only a factory grants reads of its logs"
    (dpl.tmp / "bad.json").write_text(json.dumps({**grant, "types": {"mes.work_order": []}}))
    _, _, err = dpl("grants", "create", "bad.json", ok=False, extra_env=as_(acme))
    assert err.startswith("error: grant types.mes.work_order: must be a non-empty list")

    listed = json.loads(dpl("grants", "list", "--json", extra_env=as_(bank))[1])
    assert [g["id"] for g in listed] == [1] and listed[0]["state"] == "live"
    assert json.loads(dpl("grants", "list", "--json", extra_env=as_(other))[1]) == []

    # no service key to bind the access log to: the read cannot be recorded, so it fails and writes nothing
    _, out, err = dpl("grants", "read", "1", "--log", log_id, "--from", "0", "--to", "12", "--out", "read.json",
                      ok=False, extra_env=as_(bank))
    assert "no read through a grant can be recorded" in err and not (dpl.tmp / "read.json").exists()
    dpl("keys", "import-dev")  # the service's key (DPL_RELAYER_KEY: dev0) owns the access logs

    dpl("grants", "read", "1", "--log", log_id, "--from", "0", "--to", "12", "--out", "read.json", extra_env=as_(bank))
    path = dpl.tmp / "read.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert SECRET.encode() not in raw
    doc = json.loads(raw)
    assert [e["index"] for e in doc["records"]] == list(range(10))
    assert doc["records"][1]["record"]["data"] == {"qty_good": 1} and doc["records"][1]["proven"] is False
    assert doc["receipt"]["index"] == 0 and doc["receipt"]["leaf_hash"].startswith("0x")
    # by stream name too
    _, out, _ = dpl("grants", "read", "1", "--log", "acme/line-a", "--from", "2", "--to", "4", extra_env=as_(bank))
    assert [e["index"] for e in json.loads(out)["records"]] == [2, 3] and SECRET not in out

    _, _, err = dpl("grants", "read", "1", "--log", log_id, "--from", "0", "--to", "5", ok=False, extra_env=as_(other))
    assert err.strip() == "error: no grant 1"
    _, _, err = dpl("grants", "read", "1", "--log", log_id, "--from", "0", "--to", "5", ok=False,
                    extra_env=as_("dpl_00000000_" + "a" * 43))
    assert "API key is not valid" in err

    _, out, _ = dpl("grants", "revoke", "1", extra_env=as_(acme))
    assert out.startswith("grant 1  revoked")
    _, _, err = dpl("grants", "read", "1", "--log", log_id, "--from", "0", "--to", "5", ok=False, extra_env=as_(bank))
    assert err.startswith("error: grant 1 was revoked by the factory on ")
    entries = _entries(dpl.home, "acme")
    assert [(e["outcome"], e["party"], e["key_prefix"]) for e in entries] == [
        ("read", "bank", bank.split("_")[1]), ("read", "bank", bank.split("_")[1]),
        ("refused", "bank", bank.split("_")[1])]


def _entries(home, factory_party: str) -> list[dict]:
    from ledger.service.access_log import AccessLog
    from ledger.service.context import Context
    from ledger.settings import Settings

    ctx = Context(Settings(home=home, database_url=None))
    try:
        return AccessLog(ctx).entries(ctx.parties.get(factory_party))
    finally:
        ctx.close()
