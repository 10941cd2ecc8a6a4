"""ledger.keys: encrypted keystores; dev keys only on the local chain; no key in clear."""

import json

import pytest

from ledger.errors import ConflictError, InvalidArgumentError, NotFoundError
from ledger.keys import ANVIL_MNEMONIC, LOCAL_CHAIN_ID, Keyring, KeyUseError

# anvil's first account: public knowledge, the same on every machine.
DEV0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV0_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def test_new_key_is_encrypted_private_and_reopens(tmp_path):
    ring = Keyring(tmp_path, lambda: "correct horse")
    info = ring.new("factory-a")
    path = tmp_path / "keys" / "factory-a.json"
    assert path.stat().st_mode & 0o777 == 0o600
    acct = ring.account("factory-a", chain_id=11155111)
    assert acct.address == info.address
    assert acct.key.hex().removeprefix("0x") not in path.read_text()
    assert [k.name for k in ring.list()] == ["factory-a"]
    with pytest.raises(ConflictError):
        ring.new("factory-a")
    with pytest.raises(KeyUseError, match="wrong passphrase"):
        Keyring(tmp_path, lambda: "wrong").account("factory-a", chain_id=1)


def test_dev_keys_are_anvils_and_refused_elsewhere(tmp_path, monkeypatch):
    monkeypatch.delenv("DPL_KEY_PASSPHRASE", raising=False)
    ring = Keyring(tmp_path, lambda: pytest.fail("dev keys need no prompt"))
    keys = ring.import_dev()
    assert [k.name for k in keys] == [f"dev{i}" for i in range(10)]
    assert keys[0].address == DEV0 and all(k.dev_only for k in keys)
    assert ring.account("dev0", LOCAL_CHAIN_ID).key.hex().removeprefix("0x") == DEV0_KEY
    with pytest.raises(KeyUseError, match="refused on chain 1"):
        ring.account("dev0", chain_id=1)
    assert DEV0_KEY not in (tmp_path / "keys" / "dev0.json").read_text()
    assert ring.import_dev()[0].address == DEV0  # idempotent
    assert "test test" not in json.dumps([str(p.read_text()) for p in (tmp_path / "keys").iterdir()])
    assert ANVIL_MNEMONIC.startswith("test")


def test_names_and_missing_keys(tmp_path):
    ring = Keyring(tmp_path, lambda: "x")
    with pytest.raises(InvalidArgumentError):
        ring.new("../escape")
    with pytest.raises(NotFoundError, match="dpl keys list"):
        ring.account("nobody", LOCAL_CHAIN_ID)
    assert ring.list() == []
