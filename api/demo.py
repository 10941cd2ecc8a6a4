"""The demo `make run` serves: parties with API keys, two factories each with a log holding a month
of data, anchored, both listed in the registry's directory, and two approved lenders. ACME's month
is coherent across sources; Bolt's MES over-reports press-07 by 40 % on 8-10 October, so its
profile raises the cross-source flag (both from ``ledger.synthetic.factory_month``). Idempotent:
a second run reuses everything (and the keys saved in ``DPL_HOME/demo-keys.json``, mode 0600;
``make run`` prints them for signing in).

    python -m api.demo        # after: dpl chain up, dpl keys import-dev, dpl deploy
"""

from __future__ import annotations

import json
import os
import sys
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
    return keys


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
