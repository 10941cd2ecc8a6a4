"""The Context: built once from Settings, opens nothing until asked, one passphrase rule."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ledger.errors import LedgerError
from ledger.service.context import Context
from ledger.settings import Settings


def _settings(tmp_path, **over) -> Settings:
    """Settings of a fresh home, whatever DPL_* the test run's environment holds."""
    return Settings(**{"home": tmp_path / "home", "data_key": SecretStr("00" * 32), "key_passphrase": None,
                       "rpc_url": "http://127.0.0.1:8545", **over})


def test_nothing_opens_until_a_use_case_needs_it(tmp_path):
    ctx = Context(_settings(tmp_path))
    assert not (tmp_path / "home").exists()  # no database, no keys directory
    ctx.store.list_logs()
    assert (tmp_path / "home" / "ledger.db").exists()
    assert ctx.store is ctx.store and ctx.parties is ctx.parties  # built once
    ctx.close()


def test_the_passphrase_comes_from_the_settings_else_is_asked_once_else_refused(tmp_path):
    assert Context(_settings(tmp_path, key_passphrase=SecretStr("from-env"))).passphrase() == "from-env"

    asked = []
    ctx = Context(_settings(tmp_path), ask_passphrase=lambda confirm: asked.append(confirm) or "typed")
    assert ctx.passphrase(confirm=True) == "typed" and ctx.passphrase() == "typed"
    assert asked == [True], "asked once, then kept"

    with pytest.raises(LedgerError, match="DPL_KEY_PASSPHRASE"):
        Context(_settings(tmp_path)).passphrase()  # the service: nobody to ask


def test_a_key_made_with_the_configured_passphrase_opens_with_it_only(tmp_path):
    ctx = Context(_settings(tmp_path, key_passphrase=SecretStr("s3cret")))
    info = ctx.keyring.new("factory-a")
    assert ctx.keyring.account("factory-a", chain_id=1).address == info.address
    wrong = Context(_settings(tmp_path, key_passphrase=SecretStr("other")))
    with pytest.raises(LedgerError, match="wrong passphrase"):
        wrong.keyring.account("factory-a", chain_id=1)


def test_the_node_cannot_change_after_the_chain_was_used(tmp_path):
    ctx = Context(_settings(tmp_path))
    assert ctx.use_rpc("http://127.0.0.1:1").settings.rpc_url == "http://127.0.0.1:1"
    assert ctx.use_rpc(None).settings.rpc_url == "http://127.0.0.1:1"  # no --rpc: unchanged
