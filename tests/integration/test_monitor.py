"""Post-loan monitoring on a real anvil and a real PostgreSQL, through the dpl command line: the
factory consents with covenants (``--covenants``), the service keeps the consent, the lender
issues; ``dpl monitor --once`` raises ``output_floor`` for the week output halved; advancing the
chain's clock (``evm_increaseTime``) without a new checkpoint raises ``anchoring_cadence`` once,
and a new anchored checkpoint resolves it; the holder acknowledges, nobody else can."""

from __future__ import annotations

import json

import orjson
import pytest

from ledger.chain import node
from ledger.pledge.service import with_covenants
from ledger.pledge.terms import CovenantsNotPledged
from tests.integration.test_anchoring import STREAM, dpl, env  # noqa: F401 (fixture)
from tests.integration.test_pledges import DAY, _issue, _now
from tests.ledger.test_covenants import factory, split

COVENANTS = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
    {"code": "anchoring_cadence", "max_hours": 48},
    {"code": "output_floor", "min_percent": 70},
    {"code": "cross_source_mismatch", "max_ratio": "0.100000"}]}


def _monitor(env, db) -> str:
    _, out, err = dpl(env, "monitor", "--once", extra=db)
    return out + err


def _warnings(env, db) -> dict:
    _, out, _ = dpl(env, "monitor", "warnings", "--json", extra=db)
    return {w["key"]: w for w in json.loads(out)}


def test_monitor_raises_output_floor_then_anchoring_cadence_by_the_chain_clock(env, pg_url):
    from ledger.pledge.service import Pledges
    from ledger.service.context import Context
    from ledger.settings import Settings

    db = {"DATABASE_URL": pg_url}
    tmp = env["tmp"]
    records = factory(29, rate=lambda day: 5 if 14 <= day < 21 else 10)  # W43 at half the output
    upto = split(records, 21) + 1  # W43 closed by the first record of W44
    end = split(records, 14)
    (tmp / "weeks.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records[:upto]))
    dpl(env, "keys", "import-dev", extra=db)
    dpl(env, "deploy", extra=db)
    dpl(env, "log", "create", STREAM, extra=db)
    dpl(env, "ingest", "--log", STREAM, "weeks.jsonl", extra=db)
    dpl(env, "anchor", extra=db)
    dpl(env, "lenders", "add", "dev2", extra=db)
    dpl(env, "profile", "build", "--log", STREAM, "--from", "0", "--to", str(end), "--tz", "+08:00",
        "--out", "profile.json", extra=db)
    (tmp / "covenants.json").write_text(json.dumps(COVENANTS))
    now = _now(env)
    dpl(env, "pledge", "consent", "--log", STREAM, "--from", "0", "--to", str(end), "--lender", "dev2",
        "--principal", "50000000", "--currency", "CNY", "--maturity", str(now + 30 * DAY),
        "--lien-end", str(now + 60 * DAY), "--samples", "5", "--loan-ref", "LOAN-M", "--profile", "profile.json",
        "--covenants", "covenants.json", "--out", "consent.json", extra=db)
    doc = json.loads((tmp / "consent.json").read_text())
    assert doc["covenants"] == COVENANTS and doc["covenants_digest"].startswith("0x")
    assert doc["terms"]["covenants_digest"] == doc["covenants_digest"]  # the signed terms commit to them
    assert doc["typed_data"]["message"]["covenantsDigest"] == doc["covenants_digest"]
    # a second pledge, whose kept consent carries another set than the one signed (a forged set,
    # consistent with its own digest): the monitor refuses to judge it and says so, never warns
    dpl(env, "profile", "build", "--log", STREAM, "--from", str(end), "--to", str(end + 5), "--tz", "+08:00",
        "--out", "profile2.json", extra=db)
    dpl(env, "pledge", "consent", "--log", STREAM, "--from", str(end), "--to", str(end + 5), "--lender", "dev2",
        "--principal", "100", "--currency", "CNY", "--maturity", str(now + 30 * DAY),
        "--lien-end", str(now + 60 * DAY), "--samples", "2", "--loan-ref", "LOAN-F", "--profile", "profile2.json",
        "--covenants", "covenants.json", "--out", "consent2.json", extra=db)
    genuine = json.loads((tmp / "consent2.json").read_text())
    forged = with_covenants({k: v for k, v in genuine.items() if k not in ("covenants", "covenants_digest")},
                            {**COVENANTS, "covenants": COVENANTS["covenants"][:1]})
    assert forged["covenants_digest"] != genuine["terms"]["covenants_digest"]

    # the service keeps the consent as the API does for one signed elsewhere (its covenants checked
    # against the signed terms' covenantsDigest)
    ctx = Context(Settings(home=env["home"], rpc_url=env["rpc"], database_url=pg_url))
    try:
        address = ctx.keyring.info("dev1").address
        acme = ctx.parties.get(ctx.parties.create("acme", "factory", address, None).name)
        pledges = Pledges(ctx)
        kept = pledges.accept_consent(acme, doc, lambda log_id: STREAM)
        assert kept["covenants"] == COVENANTS
        pledges.keep_consent(acme, kept)
        with pytest.raises(CovenantsNotPledged, match="edited or are another loan's"):  # accepting checks them
            pledges.accept_consent(acme, forged, lambda log_id: STREAM)
        pledges.keep_consent(acme, forged)  # kept anyway (a store written before the check, or tampered)
    finally:
        ctx.close()
    token = _issue(env, tmp / "consent.json")
    other = _issue(env, tmp / "consent2.json")

    out = _monitor(env, db)
    assert f"pledge {token}: warning output_floor/2026-W43 raised" in out and "1 raised" in out
    assert (f"pledge {other}: not judged: covenants: the kept consent's covenants hash to {forged['covenants_digest']}, "
            f"the pledge commits to {genuine['covenants_digest']}: they were edited or are another loan's") in out
    assert f"pledge {other}: warning" not in out

    # the lender's check: the bundle carries the pledged set, and a forged one is not sound
    dpl(env, "pledge", "bundle", str(token), "--out", "bundle.json", extra=db)
    bundle = json.loads((tmp / "bundle.json").read_text())
    assert bundle["covenants"] == COVENANTS
    _, out, _ = dpl(env, "pledge", "verify", str(token), "--bundle", "bundle.json", "--factory", address)
    assert f"PASS  covenants: sha256 {doc['covenants_digest']} is the pledge's covenants digest" in out
    (tmp / "forged.json").write_text(json.dumps({**bundle, "covenants": forged["covenants"]}))
    _, out, _ = dpl(env, "pledge", "verify", str(token), "--bundle", "forged.json", ok=False)
    assert (f"FAIL  covenants: the bundle's covenants hash to {forged['covenants_digest']}, the pledge commits to "
            f"{doc['covenants_digest']}: they were edited or are another loan's") in out
    assert f"pledge {token}: collateral NOT SOUND" in out
    assert "anchoring_cadence" not in out
    assert "0 raised" in _monitor(env, db)  # the same checkpoint: nothing twice

    node.rpc_call(env["rpc"], "evm_increaseTime", [49 * 3600])
    node.rpc_call(env["rpc"], "evm_mine")
    out = _monitor(env, db)
    assert f"pledge {token}: warning anchoring_cadence/{upto} raised" in out
    assert "0 raised" in _monitor(env, db)
    found = _warnings(env, db)
    assert set(found) == {"output_floor/2026-W43", f"anchoring_cadence/{upto}"}
    cadence = found[f"anchoring_cadence/{upto}"]
    assert cadence["state"] == "open" and int(cadence["value"]) > 48 * 3600 and cadence["threshold"] == "172800"
    assert cadence["checkpoint"]["size"] == upto and cadence["checkpoint"]["anchor_tx"].startswith("0x")

    # only the holder acknowledges
    floor = found["output_floor/2026-W43"]
    _, _, err = dpl(env, "monitor", "ack", str(floor["id"]), "--key", "dev3", extra=db, ok=False)
    assert "no such warning" in err
    dpl(env, "monitor", "ack", str(floor["id"]), "--key", "dev2", extra=db)
    assert _warnings(env, db)["output_floor/2026-W43"]["state"] == "acknowledged"

    # W44 at full output and a new anchored checkpoint: both resolve
    later = split(records, 28) + 1
    (tmp / "more.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records[upto:later]))
    dpl(env, "ingest", "--log", STREAM, "more.jsonl", extra=db)
    dpl(env, "anchor", extra=db)
    out = _monitor(env, db)
    assert f"warning anchoring_cadence/{upto} resolved" in out and "warning output_floor/2026-W43 resolved" in out
    found = _warnings(env, db)
    assert {k: w["state"] for k, w in found.items()} == {"output_floor/2026-W43": "resolved",
                                                         f"anchoring_cadence/{upto}": "resolved"}
    assert found["output_floor/2026-W43"]["evidence"]["week"] == "2026-W44"


def test_monitor_every_survives_a_node_that_is_down(env, tmp_path):
    """``--every`` keeps going when a round fails (no registry here: every round is refused), one
    line a round, no traceback; stopped from outside."""
    import subprocess
    import time

    from tests.integration.test_anchoring import DPL

    import threading

    proc = subprocess.Popen([DPL, "monitor", "--every", "1", "--rpc", "http://127.0.0.1:9"], env=env["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=env["tmp"], text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120  # the start-up alone takes seconds on a loaded machine
        while sum("trying again in 1 s" in line for line in lines) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.2)
        assert proc.poll() is None, "".join(lines)  # still going after its rounds failed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=30)
    err = "".join(lines)
    assert err.count("trying again in 1 s") >= 3 and "Traceback" not in err.split("KeyboardInterrupt")[0], err
