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
