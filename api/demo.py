"""The demo `make run` serves: parties with API keys, two factories each with a log holding a month
of data, anchored, both listed in the registry's directory, and two approved lenders. ACME's month
is coherent across sources; Bolt's MES over-reports press-07 by 40 % on 8-10 October, so its
profile raises the cross-source flag (both from ``ledger.synthetic.factory_month``).

Bolt has pledged its first four days (1-4 October) to bank-a with covenants (``COVENANTS``,
docs/COVENANTS.md), judged by the monitor once at the month's checkpoint: the week of the
over-report (2026-W41) breaks the cross-source covenant and the next week meets it again (a
warning raised and resolved). Then Saturday 31 October is appended and anchored (``saturday``:
every machine reports but press-07, silent since the 30th) and the monitor judges again: a
``stoppage`` warning on press-07 stays open, for the lender page to show.

ACME grants bank-a reads of its log (``DEMO_GRANT``, docs/GRANTS.md): its work orders' product and
good quantity only, its telemetry whole (with inclusion proofs), for 180 days from the day the demo
is first made: the lender page's "Granted data" has something to read.

ACME also keeps a ``dpl-record/2`` log (``V2_STREAM``: the month's first ``V2_RECORDS`` records,
docs/RECORDS.md section 14), anchored, and applies to bank-a for a loan on it (``DEMO_APPLICATION``,
left ``submitted``, docs/APPLICATIONS.md): the application's grant (``V2_GRANT``: some fields of its
work orders and sales orders) reads as partial records whose hidden fields are commitments, so the
lender's page verifies each record in the browser, and the lender's inbox is not empty. Bolt has
applied too (``BOLT_APPLICATION``, records [1000, 2000) of its log, its work orders' product and
quantities granted), and bank-a has approved it with terms (``BOLT_TERMS``): an approved
application waiting for Bolt's consent.

Idempotent: a second run reuses everything (and the keys saved in ``DPL_HOME/demo-keys.json``,
mode 0600; ``make run`` prints them for signing in).

    python -m api.demo        # after: dpl chain up, dpl keys import-dev, dpl deploy
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ledger.errors import NotFoundError
from ledger.service.context import Context
from ledger.settings import Settings

#: demo-keys.json name -> (party, role, dev key the service holds for it, or None)
PARTIES = {
    "admin": ("admin", "admin", "dev0"),
    "factory": ("acme", "factory", "dev1"),
    "factory_b": ("bolt", "factory", "dev4"),
    "lender_a": ("bank-a", "lender", "dev2"),
    "lender_b": ("bank-b", "lender", "dev3"),
    "auditor": ("audit-office", "auditor", None),
}
SAMPLES = Path(__file__).resolve().parents[1] / "ledger" / "samples"
#: The demo factories: party -> (log, its records, name and registration number listed in the
#: registry's factory directory: a verifier prints the name).
FACTORIES = {
    "acme": ("acme/line-a", SAMPLES / "factory-month.jsonl", "ACME Precision Co.", "91310000MA1FL0000X"),
    "bolt": ("bolt/line-1", SAMPLES / "factory-month-overreport.jsonl", "Bolt Fasteners Ltd.",
             "91440300MA5G2B7K4Y"),
}

#: Bolt's pledge to bank-a: its loan reference (how a second run finds it), the covenants agreed.
BOLT_LOAN = "LOAN-DEMO-BOLT-1"
COVENANTS = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
    {"code": "output_floor", "min_percent": 70},
    {"code": "stoppage", "max_hours": 8},
    {"code": "cross_source_mismatch", "max_ratio": "0.030000"},
    {"code": "scrap_ceiling", "max_ratio": "0.050000"}]}
#: The pledged range ends at the first record of this instant (Monday 5 October, 00:00 at +08:00).
BOLT_PLEDGE_END = datetime.fromisoformat("2026-10-05T00:00:00+08:00")
SILENT = "press-07"
#: ACME's dpl-record/2 log: the first V2_RECORDS records of its month.
V2_STREAM, V2_RECORDS = "acme/line-v2", 300
#: The types and fields of the application's grant on it (the others are hidden, committed).
V2_GRANT = {"mes.work_order": ["product", "qty_good"], "erp.sales_order": ["amount_minor", "currency"]}
#: ACME's application to bank-a on the v2 log (how a second run finds it: its purpose).
DEMO_APPLICATION = {"amount": "80000000", "currency": "CNY",
                    "purpose": "Demo: working capital for the BRK-220 order, against line 2 (dpl-record/2)"}
#: ACME's grant to bank-a: the records and the types and fields granted (the log and expiry are added).
DEMO_GRANT = {"records": {"from": 0, "to": 3495},
              "types": {"mes.work_order": ["product", "qty_good"], "iot.telemetry": ["*"]}}

#: Bolt's application to bank-a (found again by its purpose), the range offered and the fields granted,
#: and the terms bank-a approves (the dates are added: 180 and 270 days after the day it is made).
BOLT_APPLICATION = {"amount": "30000000", "currency": "CNY",
                    "purpose": "Demo: tooling for the M8 bolt line, against October's output"}
BOLT_RANGE = (1000, 2000)
BOLT_GRANT = {"mes.work_order": ["product", "qty_good", "qty_scrap"]}
BOLT_TERMS = {"principal": "30000000", "currency": "CNY", "samples": 8, "loan_ref": "LOAN-DEMO-BOLT-2"}


def saturday(month: list[dict]) -> list[dict]:
    """Saturday 31 October after ``month`` (``factory_month``'s records of October, in time order):
    the telemetry of every machine but press-07, in the month's 15-minute round-robin slots, each
    counter going on from its last reading. Deterministic (its own seed)."""
    from ledger.synthetic import MACHINES, RATES, TZ

    rnd = random.Random(31)
    counters = {r["data"]["machine"]: r["data"]["parts_total"] for r in month if r["type"] == "iot.telemetry"}
    start, slot, day = datetime(2026, 10, 1, tzinfo=TZ), timedelta(minutes=15), 30
    out = []
    for i in range(day * 96, (day + 1) * 96):
        m = MACHINES[i % len(MACHINES)]
        if m == SILENT:
            continue
        counters[m] += round(RATES[m] * rnd.uniform(0.9, 1.1))
        t = start + slot * i
        out.append({"id": f"tel-{m}-{i:09d}", "ts": t.isoformat(timespec="milliseconds"), "type": "iot.telemetry",
                    "data": {"machine": m, "state": "running", "temp_c": round(rnd.gauss(68.0, 4.0), 2),
                             "spindle_rpm": rnd.randint(1400, 1600),
                             "vibration_mm_s": round(abs(rnd.gauss(2.2, 0.6)), 3),
                             "power_kw": round(rnd.uniform(9.0, 18.5), 2), "parts_total": counters[m]}})
    return out


def _keys_file(home: Path) -> Path:
    return home / "demo-keys.json"


def setup(settings: Settings, say=print) -> dict:
    """Make (or find) the demo's parties, keys, logs, anchors, listings and lenders through the
    same use cases as ``dpl`` and the API; returns the keys (slot -> API key)."""
    # each demo log is bound to its factory, whose key signs its checkpoints (the setting is the fallback)
    ctx = Context.open(settings.model_copy(update={"factory_key": PARTIES["factory"][2]}))
    try:
        return _setup(ctx, say)
    finally:
        ctx.close()


def _setup(ctx: Context, say) -> dict:
    from ledger.service.admin import Directory, Lenders, Parties, key_signer
    from ledger.service.anchoring import anchor_once
    from ledger.service.logs import Logs
    from ledger.sources import read_jsonl

    parties = Parties(ctx)
    path = _keys_file(ctx.settings.home)
    keys = json.loads(path.read_text()) if path.exists() else {}
    existing = {p.name: p for p in parties.list()}
    for slot, (name, role, dev_key) in PARTIES.items():
        if name not in existing:
            existing[name] = parties.create(name, role, key_name=dev_key)
        if slot not in keys:
            keys[slot] = parties.new_key(name).key
            say(f"new API key for {slot} ({name}, {role}) saved to {path}")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f, indent=2)
    os.replace(tmp, path)
    os.chmod(path, 0o600)

    admin = key_signer(ctx, PARTIES["admin"][2])
    for party, (stream, sample, name, registration) in FACTORIES.items():
        factory = existing[party]
        try:
            ctx.store.get_log(stream)
        except NotFoundError:
            Logs(ctx).create(stream, factory.address, owner=factory.id)  # bound and owned in one transaction
        with sample.open("rb") as f:
            result = ctx.store.append(stream, read_jsonl(f))
        say(f"{stream}: appended {result.appended}, already stored {result.duplicates}; size {result.size}")
        for report in anchor_once(ctx, stream):  # signed with the key the log is bound to
            say(f"{report.stream} size {report.size}: {report.state}")
        if Directory(ctx).set(factory.address, name, registration, admin).tx_hash:
            say(f"factory {party} ({factory.address}) listed in the directory as {name!r}")
    for name in ("bank-a", "bank-b"):
        who = existing[name].address
        Lenders(ctx).set(who, True, admin)
        say(f"lender {name} ({who}) approved")
    _disclose(ctx, existing, say)
    _covenanted_pledge(ctx, existing, say)
    _grant(ctx, existing, say)
    _v2_application(ctx, existing, say)
    _approved_application(ctx, existing, say)
    return keys


def _approved_application(ctx: Context, existing: dict, say) -> None:
    """Bolt's ``BOLT_APPLICATION`` to bank-a (once), reviewed and approved by bank-a with ``BOLT_TERMS``."""
    from ledger.service.applications import Applications

    applications, bolt, bank = Applications(ctx), existing["bolt"], existing["bank-a"]
    if any(a.application.get("purpose") == BOLT_APPLICATION["purpose"] for a in applications.list(bolt)):
        return
    log_id = "0x" + ctx.store.get_log(FACTORIES["bolt"][0]).log_id.hex()
    today = int(time.time()) // 86400 * 86400
    day = lambda n: datetime.fromtimestamp(today + n * 86400, tz=timezone.utc)  # noqa: E731
    (start, end) = BOLT_RANGE
    made = applications.apply(bolt, {
        "format": "dpl-application/1", "lender": bank.address, **BOLT_APPLICATION,
        "collateral": [{"log_id": log_id, "from": start, "to": end}],
        "grant": {"format": "dpl-grant/1", "lender": bank.address, "logs": [log_id],
                  "records": {"from": start, "to": end}, "types": BOLT_GRANT,
                  "expires": day(180).strftime("%Y-%m-%dT%H:%M:%SZ")}})
    applications.review(bank, made.id)
    approved = applications.decide(bank, made.id, {
        "format": "dpl-decision/1", "decision": "approve", "text": "Approved as offered.",
        "terms": {"log_id": log_id, "from": start, "to": end, **BOLT_TERMS,
                  "maturity": day(180).strftime("%Y-%m-%d"), "lien_end": day(270).strftime("%Y-%m-%d")}})
    say(f"{FACTORIES['bolt'][0]}: bolt applies to bank-a for records [{start}, {end}) (application {made.id}), "
        f"bank-a {approved.state} it")


def _v2_application(ctx: Context, existing: dict, say) -> None:
    """ACME's ``dpl-record/2`` log ``V2_STREAM`` (made, filled and anchored once) and its
    application to bank-a on it with ``V2_GRANT`` (once), left ``submitted``."""
    from itertools import islice

    from ledger.leaves import RECORD_V2
    from ledger.service.anchoring import anchor_once
    from ledger.service.applications import Applications
    from ledger.service.logs import Logs
    from ledger.sources import read_jsonl

    acme, bank = existing["acme"], existing["bank-a"]
    try:
        info = ctx.store.get_log(V2_STREAM)
    except NotFoundError:
        info = Logs(ctx).create(V2_STREAM, acme.address, owner=acme.id, record_format=RECORD_V2)
    with FACTORIES["acme"][1].open("rb") as f:
        result = ctx.store.append(V2_STREAM, list(islice(read_jsonl(f), V2_RECORDS)))
    say(f"{V2_STREAM} (dpl-record/2): appended {result.appended}, already stored {result.duplicates}; "
        f"size {result.size}")
    for report in anchor_once(ctx, V2_STREAM):
        say(f"{report.stream} size {report.size}: {report.state}")
    applications = Applications(ctx)
    if any(a.application.get("purpose") == DEMO_APPLICATION["purpose"] for a in applications.list(acme)):
        return
    log_id = "0x" + info.log_id.hex()
    today = int(time.time()) // 86400 * 86400
    expires = datetime.fromtimestamp(today + 180 * 86400, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = applications.apply(acme, {
        "format": "dpl-application/1", "lender": bank.address, **DEMO_APPLICATION,
        "collateral": [{"log_id": log_id, "from": 0, "to": V2_RECORDS}],
        "grant": {"format": "dpl-grant/1", "lender": bank.address, "logs": [log_id],
                  "records": {"from": 0, "to": V2_RECORDS}, "types": V2_GRANT, "expires": expires},
        "profile": {"tz": "+08:00"}})
    say(f"{V2_STREAM}: acme applies to bank-a (application {made.id}, {made.state}; grant {made.grant_ids[0]} "
        f"of work orders (product, qty_good) and sales orders (amount_minor, currency))")


def _grant(ctx: Context, existing: dict, say) -> None:
    """ACME's ``DEMO_GRANT`` to bank-a (once: a second run, or a grant since revoked, makes none)."""
    from ledger.service.grants import Grants

    grants, acme, bank = Grants(ctx), existing["acme"], existing["bank-a"]
    if any(v.grant["lender"] == bank.address for v in grants.list(acme)):
        return
    stream = FACTORIES["acme"][0]
    today = int(time.time()) // 86400 * 86400  # midnight UTC, like the pledge's dates
    expires = datetime.fromtimestamp(today + 180 * 86400, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = grants.create(acme, {"format": "dpl-grant/1", "lender": bank.address,
                                "logs": ["0x" + ctx.store.get_log(stream).log_id.hex()], **DEMO_GRANT,
                                "expires": expires})
    say(f"{stream}: acme grants bank-a reads of work orders (product, qty_good) and telemetry (grant {made.id})")


def _disclose(ctx: Context, existing: dict, say) -> None:
    """Each factory discloses its whole log to bank-a (once), so the lender page has a profile to
    read and a disclosure to verify in the browser: ACME's figures agree, Bolt's flag press-07."""
    from ledger.service.profiles import ProfileParams, Profiles

    profiles, lender = Profiles(ctx), existing["bank-a"].address
    for party, (stream, *_rest) in FACTORIES.items():
        factory = existing[party]
        size = ctx.store.get_log(stream).size
        if any(d.stream == stream and d.lender == lender for d in profiles.disclosures(factory)):
            continue
        made = profiles.disclose(factory, stream, lender, 0, size, ProfileParams.checked("+08:00"))
        say(f"{stream}: records [0, {size}) disclosed in full to bank-a (disclosure {made.id})")


def _covenanted_pledge(ctx: Context, existing: dict, say) -> None:
    """Bolt's pledge of 1-4 October to bank-a with ``COVENANTS`` (once), judged by the monitor;
    then Saturday 31 October appended and anchored, and judged again (see the module docstring)."""
    from ledger.pledge.service import ConsentRequest, Pledges
    from ledger.service.anchoring import anchor_once
    from ledger.sources import read_jsonl

    stream, sample = FACTORIES["bolt"][0], FACTORIES["bolt"][1]
    bolt, bank = existing["bolt"], existing["bank-a"]
    with sample.open("rb") as f:
        month = [r for _, r in read_jsonl(f)]
    end = next(i for i, r in enumerate(month) if datetime.fromisoformat(r["ts"]) >= BOLT_PLEDGE_END)
    pledges = Pledges(ctx)
    kept = [c for c in pledges.consents(bolt) if c["consent"].get("loan_ref") == BOLT_LOAN]
    if not kept:
        today = int(time.time()) // 86400 * 86400  # dates (midnight UTC), like a loan's terms
        request = ConsentRequest(stream, 0, end, bank.address, 180_000_000, "CNY", str(today + 180 * 86400),
                                 str(today + 270 * 86400), 8, BOLT_LOAN, profile_params={"tz": "+08:00"},
                                 covenants=COVENANTS)
        document = pledges.sign_consent(bolt, request, lambda v: v)
        consent_id = pledges.keep_consent(bolt, document)
        say(f"{stream}: bolt consents to pledge records [0, {end}) to bank-a with covenants (consent {consent_id})")
        kept = [{"consent_id": consent_id, "token_id": None}]
    if kept[0]["token_id"] is None:
        issued = pledges.issue_kept(bank, kept[0]["consent_id"])
        say(f"pledge {issued.token_id} issued to bank-a: {stream} records [0, {end}) with covenants")
    _judge(ctx, say)  # at the month's checkpoint
    result = ctx.store.append(stream, [(len(month) + k, r) for k, r in enumerate(saturday(month))])
    say(f"{stream}: Saturday 31 October (press-07 silent) appended {result.appended}, already stored "
        f"{result.duplicates}; size {result.size}")
    for report in anchor_once(ctx, stream):
        say(f"{report.stream} size {report.size}: {report.state}")
    _judge(ctx, say)


def _judge(ctx: Context, say) -> None:
    """One run of the monitor (``dpl monitor --once``), its outcome said."""
    from ledger.service.monitor import Monitor, webhook_hook

    report = Monitor(ctx, webhook_hook(ctx)).run_once()
    for token, key in report.raised:
        say(f"monitor: pledge {token}: warning {key} raised")
    for token, key in report.resolved:
        say(f"monitor: pledge {token}: warning {key} resolved")
    for error in report.errors:
        say(f"monitor: {error}")


def main() -> None:
    settings = Settings()
    keys = setup(settings)
    print(f"demo ready: keys in {_keys_file(settings.home)} (mode 0600) for {', '.join(keys)}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line, like the dpl command
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
