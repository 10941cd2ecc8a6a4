"""The demo `make run` serves: parties with API keys, a factory log with a month of data,
anchored, the factory listed in the registry's directory, and two approved lenders. Idempotent: a second run reuses everything (and the keys
saved in ``DPL_HOME/demo-keys.json``, mode 0600; ``make run`` prints them for signing in).

    python -m api.demo        # after: dpl chain up, dpl keys import-dev, dpl deploy
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ledger.errors import NotFoundError
from ledger.settings import Settings

#: demo-keys.json name -> (party, role, dev key the service holds for it, or None)
PARTIES = {
    "admin": ("admin", "admin", "dev0"),
    "factory": ("acme", "factory", "dev1"),
    "lender_a": ("bank-a", "lender", "dev2"),
    "lender_b": ("bank-b", "lender", "dev3"),
    "auditor": ("audit-office", "auditor", None),
}
STREAM = "acme/line-a"
#: How the demo factory is listed in the registry's factory directory (a verifier prints the name).
FACTORY_NAME, FACTORY_REGISTRATION = "ACME Precision Co.", "91310000MA1FL0000X"
SAMPLE = Path(__file__).resolve().parents[1] / "ledger" / "samples" / "factory-month.jsonl"


def _keys_file(home: Path) -> Path:
    return home / "demo-keys.json"


def setup(settings: Settings, say=print) -> dict:
    from ledger.anchoring import Anchorer
    from ledger.chain.client import Chain, log_id_of
    from ledger.chain.deploy import load_deployment
    from ledger.directory import list_factory, listing_of
    from ledger.keys import Keyring
    from ledger.pledge.chain import set_lender
    from ledger.sources import read_jsonl
    from ledger.store.logstore import LogStore
    from ledger.store.parties import PartyStore
    from ledger.transactions import Transactions

    store = LogStore.open(settings)
    parties = PartyStore(store.engine)
    keyring = Keyring(settings.home, lambda: settings.key_passphrase.get_secret_value() if settings.key_passphrase else "",
                      configured=settings.key_passphrase.get_secret_value() if settings.key_passphrase else None)
    path = _keys_file(settings.home)
    keys = json.loads(path.read_text()) if path.exists() else {}
    for slot, (name, role, dev_key) in PARTIES.items():
        try:
            parties.get(name)
        except NotFoundError:
            address = keyring.info(dev_key).address if dev_key else None
            parties.create(name, role, address, dev_key)
        if slot not in keys:
            keys[slot] = parties.new_key(name)
            say(f"new API key for {slot} ({name}, {role}) saved to {path}")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f, indent=2)
    os.replace(tmp, path)
    os.chmod(path, 0o600)

    factory = parties.get("acme")
    try:
        info = store.get_log(STREAM)
    except NotFoundError:
        info = store.create_log(STREAM, factory.address, log_id_of(factory.address, STREAM))
        parties.own_log(info.pk, factory.id)
    with SAMPLE.open("rb") as f:
        result = store.append(STREAM, read_jsonl(f))
    say(f"{STREAM}: appended {result.appended}, already stored {result.duplicates}; size {result.size}")

    probe = Chain(settings.rpc_url)
    chain = Transactions(store.engine).attach(
        Chain(settings.rpc_url, load_deployment(settings.home, probe.chain_id)["address"]))
    for report in Anchorer(store, chain, keyring, relayer_key=settings.relayer_key, factory_key="dev1",
                           confirmations=settings.confirmations).run(STREAM):
        say(f"{report.stream} size {report.size}: {report.state}")
    admin = keyring.account("dev0", chain.chain_id)
    listing = listing_of(chain, factory.address)
    if listing is None or listing.name != FACTORY_NAME:
        list_factory(chain, admin, factory.address, FACTORY_NAME, FACTORY_REGISTRATION)
        say(f"factory acme ({factory.address}) listed in the directory as {FACTORY_NAME!r}")
    for name in ("bank-a", "bank-b"):
        who = parties.get(name).address
        set_lender(chain, admin, who, True)
        say(f"lender {name} ({who}) approved")
    store.close()
    return keys


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
