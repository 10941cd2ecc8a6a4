"""ledger.crypto: the data key file, key parsing, and sealing bound to the leaf."""

import base64
import os
import stat

import pytest

from ledger.crypto import DataKey, parse_key_text
from ledger.errors import DataKeyError


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    key = DataKey.load(None, tmp_path / "home")
    path = tmp_path / "home" / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = DataKey.load(None, tmp_path / "home")
    assert again.check_value == key.check_value


def test_env_key_in_base64_or_hex():
    raw = os.urandom(32)
    a = DataKey(parse_key_text(base64.b64encode(raw).decode()), "env")
    b = DataKey(parse_key_text(raw.hex()), "env")
    assert a.check_value == b.check_value
    with pytest.raises(DataKeyError, match="32 bytes"):
        parse_key_text("too-short")


def test_sealed_payload_opens_only_with_its_key_and_leaf():
    key = DataKey(os.urandom(32), "test")
    leaf, body = os.urandom(32), os.urandom(32) + b'{"id":"x"}'
    sealed = key.seal(leaf, body, os.urandom(12))
    assert b'{"id":"x"}' not in sealed
    assert key.open(leaf, sealed) == (body[:32], body[32:])
    with pytest.raises(DataKeyError, match="does not open"):
        key.open(os.urandom(32), sealed)  # moved to another row
    with pytest.raises(DataKeyError, match="does not open"):
        DataKey(os.urandom(32), "other").open(leaf, sealed)


def test_the_key_never_appears_in_its_repr():
    raw = os.urandom(32)
    key = DataKey(raw, "DPL_DATA_KEY")
    assert raw.hex() not in repr(key) and base64.b64encode(raw).decode() not in repr(key)
