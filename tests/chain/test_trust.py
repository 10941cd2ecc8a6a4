"""Which registry a verifier trusts (``ledger.chain.deploy.trusted_registry``): an address given
explicitly, else the deployment record pinned for the chain; never one a bundle names, and a
refusal when there is neither."""

from __future__ import annotations

import json

import pytest

from ledger.chain import deploy
from ledger.chain.deploy import LOCAL_CHAIN_ID, UntrustedRegistryError, trusted_registry
from ledger.errors import InvalidArgumentError

GENUINE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _record(home, chain_id=LOCAL_CHAIN_ID, **fields):
    path = home / "deployments" / f"{chain_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"contract": "DataPledgeRegistry", "chain_id": chain_id, "address": GENUINE} | fields))
    return path


def test_the_local_chain_trusts_the_record_under_dpl_home(tmp_path):
    path = _record(tmp_path)
    t = trusted_registry(LOCAL_CHAIN_ID, tmp_path)
    assert (t.chain_id, t.address) == (LOCAL_CHAIN_ID, GENUINE)
    assert t.source == f"the pinned deployment record {path}"


def test_an_explicit_address_overrides_the_record(tmp_path):
    _record(tmp_path)
    other = "0x" + "ab" * 20
    t = trusted_registry(LOCAL_CHAIN_ID, tmp_path, other)
    assert t.address == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB" and "given explicitly" in t.source
    with pytest.raises(InvalidArgumentError, match="is not an Ethereum address"):
        trusted_registry(LOCAL_CHAIN_ID, tmp_path, "0x1234")
    with pytest.raises(InvalidArgumentError, match="is not an Ethereum address"):  # a broken EIP-55 checksum
        trusted_registry(LOCAL_CHAIN_ID, tmp_path, GENUINE.replace("F", "f", 1))


def test_no_record_and_no_address_is_a_refusal_never_a_fallback(tmp_path):
    with pytest.raises(UntrustedRegistryError, match=r"^no trusted registry for chain 31337: pass --registry"):
        trusted_registry(LOCAL_CHAIN_ID, tmp_path)
    with pytest.raises(UntrustedRegistryError, match=r"^no trusted registry for chain 31337"):
        trusted_registry(LOCAL_CHAIN_ID, None)
    with pytest.raises(UntrustedRegistryError, match=r"^no trusted registry for chain 424242: pass --registry"):
        trusted_registry(424242, tmp_path)


def test_a_public_chain_trusts_the_record_the_package_ships(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "11155111.json").write_text(json.dumps({"chain_id": 11155111, "address": GENUINE.lower()}))
    monkeypatch.setattr(deploy, "_CHECKOUT_RECORDS", shipped)
    monkeypatch.setattr(deploy, "_INSTALLED_RECORDS", tmp_path / "not-installed")
    t = trusted_registry(11155111, tmp_path / "home-without-records")
    assert t.address == GENUINE and str(shipped / "11155111.json") in t.source
    _record(tmp_path / "home", chain_id=11155111)  # DPL_HOME does not pin public chains
    with pytest.raises(UntrustedRegistryError):
        trusted_registry(5, tmp_path / "home")


@pytest.mark.parametrize("text, reason", [
    ('{"chain_id": 1, "address": "%s"}' % GENUINE, "is for chain 1, not chain 31337"),
    ('{"chain_id": 31337, "address": "0x12"}', "holds no valid registry address"),
    ('{"chain_id": 31337, "address": "%s", "address": "0x%s"}' % (GENUINE, "66" * 20), "duplicate key 'address'"),
    ('["not", "an", "object"]', "is not a JSON object"),
    ("{oops", "invalid JSON"),
])
def test_a_broken_record_is_refused_by_name(tmp_path, text, reason):
    path = tmp_path / "deployments" / "31337.json"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(InvalidArgumentError, match=reason):
        trusted_registry(LOCAL_CHAIN_ID, tmp_path)


# --- whose log is it: ledger.chain.check.factory_check (pure; the chain side reads its inputs) ---

from ledger.chain.check import factory_check  # noqa: E402
from ledger.chain.client import log_id_of  # noqa: E402
from ledger.directory import Listing  # noqa: E402

FACTORY = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LOG = log_id_of(FACTORY, "acme/line-a")


def test_the_factory_check_recomputes_the_log_id_from_the_chains_factory():
    listed = Listing(FACTORY, "ACME Precision Co.", b"\x01" * 32)
    ok = factory_check(LOG, "acme/line-a", FACTORY, listed)
    assert ok.ok and ok.name == "factory"
    assert ok.detail == f"factory {FACTORY} (registered as ACME Precision Co.); log 0x{LOG.hex()} is its stream 'acme/line-a'"
    assert factory_check(LOG, "acme/line-a", FACTORY, None).detail.startswith(f"factory {FACTORY} (not in the directory);")
    relabelled = factory_check(LOG, "globex/line-a", FACTORY, listed)
    assert not relabelled.ok and relabelled.detail == (
        f"factory {FACTORY} (registered as ACME Precision Co.) owns log 0x{LOG.hex()}, but its stream 'globex/line-a' "
        f"would be log 0x{log_id_of(FACTORY, 'globex/line-a').hex()}: the bundle's stream is not this log's")
    unregistered = factory_check(LOG, "acme/line-a", None, None)
    assert not unregistered.ok and "is not registered in the registry" in unregistered.detail
    assert not factory_check(LOG, None, FACTORY, None).ok
    lone = factory_check(LOG, "acme/\ud800", FACTORY, None)
    assert not lone.ok and "not valid Unicode" in lone.detail


def test_a_name_from_the_chain_is_printed_escaped():
    sneaky = Listing(FACTORY, "ACME\u202e.oC\n\x1b[31mred\t\u200b😀", b"\x01" * 32)
    detail = factory_check(LOG, "acme/line-a", FACTORY, sneaky).detail
    assert "(registered as ACME\\u202e.oC\\n\\x1b[31mred\\t\\u200b😀);" in detail
    assert detail.isprintable()


# --- whose log the lender expects: --factory (ledger.chain.check.expected_factory_check) ---

from ledger.chain.check import expected_factory, expected_factory_check  # noqa: E402

RIVAL = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_another_factorys_log_fails_the_expected_factory_check():
    listed = Listing(FACTORY, "ACME Precision Co.", b"\x01" * 32)
    assert expected_factory(FACTORY.lower()) == FACTORY and expected_factory(None) is None
    ok = expected_factory_check(FACTORY, listed, expected_factory(FACTORY.lower()))
    assert ok.ok and ok.name == "expected factory"
    assert ok.detail == f"the log belongs to factory {FACTORY} (registered as ACME Precision Co.), the expected factory"
    rival = expected_factory_check(RIVAL, None, FACTORY)
    assert not rival.ok and rival.detail == (f"the log belongs to factory {RIVAL} (not in the directory), not to the "
                                             f"expected factory {FACTORY}")
    nobody = expected_factory_check(None, None, FACTORY)
    assert not nobody.ok and nobody.detail == f"no factory owns the log, not the expected factory {FACTORY}"
    for bad in ("0x1234", FACTORY.replace("C", "c", 1), "dev1", ""):
        with pytest.raises(InvalidArgumentError, match="is not an Ethereum address"):
            expected_factory(bad)
