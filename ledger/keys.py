"""Signing keys (factory, relayer, lender, admin) as encrypted keystores under DPL_HOME/keys.

Each key is an eth-account keystore (Web3 Secret Storage v3) in ``NAME.json``, mode 0600,
with a ``"dpl"`` section naming it and marking dev-only keys. The private key exists in
clear only in memory, after the passphrase (``DPL_KEY_PASSPHRASE`` or a prompt) opened it;
it is never written, logged or put in an error message.

``import_dev`` brings anvil's ten well-known accounts in as ``dev0`` ... ``dev9``. They are
public knowledge, so they are refused on any chain but the local one (chain id 31337), and
they are sealed with ``DPL_KEY_PASSPHRASE`` when set, else with ``DEV_PASSPHRASE``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.errors import ConflictError, InvalidArgumentError, LedgerError, NotFoundError

LOCAL_CHAIN_ID = 31337
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
DEV_PASSPHRASE = "dpl-dev-only"
DEV_KEY_COUNT = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class KeyUseError(LedgerError):
    """A key cannot be opened or used here (wrong passphrase, dev key on a real chain)."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    address: str
    dev_only: bool


def _validate_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"invalid key name {name!r}: 1-64 letters, digits, '.', '_' or '-'"
        )
    return name


class Keyring:
    """The keystores in ``home/keys``. ``passphrase`` is asked for only when needed;
    ``configured`` is the passphrase the settings hold (``DPL_KEY_PASSPHRASE``), if any: dev keys
    are sealed with it when set, else with ``DEV_PASSPHRASE``, and open with either."""

    def __init__(self, home: Path, passphrase: Callable[[], str], configured: str | None = None):
        self.dir = home / "keys"
        self._passphrase = passphrase
        self._configured = configured or None

    def _path(self, name: str) -> Path:
        return self.dir / f"{_validate_name(name)}.json"

    def _write(self, name: str, keystore: dict) -> None:
        self.dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # DPL_HOME, private when we make it
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(name)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(keystore, f)
            os.link(tmp, path)  # fails if the name was taken meanwhile: never overwrite a key
        except FileExistsError:
            raise ConflictError(f"a key named {name!r} already exists") from None
        finally:
            tmp.unlink(missing_ok=True)

    def _store(self, name: str, private_key: bytes, passphrase: str, dev_only: bool,
               iterations: int | None = None) -> KeyInfo:
        if self._path(name).exists():
            raise ConflictError(f"a key named {name!r} already exists")
        kdf = "pbkdf2" if iterations else None
        keystore = Account.encrypt(private_key, passphrase, kdf=kdf, iterations=iterations)
        address = Account.from_key(private_key).address
        keystore["dpl"] = {"name": name, "address": address, "dev_only": dev_only}
        self._write(name, keystore)
        return KeyInfo(name, address, dev_only)

    def new(self, name: str) -> KeyInfo:
        """Create a random key, sealed with the passphrase."""
        _validate_name(name)
        account = Account.create()
        return self._store(name, bytes(account.key), self._passphrase(), dev_only=False)

    def import_dev(self) -> list[KeyInfo]:
        """Import anvil's well-known accounts as dev0..dev9 (existing ones are kept)."""
        Account.enable_unaudited_hdwallet_features()
        passphrase = self._configured or DEV_PASSPHRASE
        out = []
        for i in range(DEV_KEY_COUNT):
            name = f"dev{i}"
            if self._path(name).exists():
                out.append(self.info(name))
                continue
            acct = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
            # Public keys anyway: a cheap KDF keeps `make run` fast.
            out.append(self._store(name, bytes(acct.key), passphrase, dev_only=True, iterations=2))
        return out

    def _load(self, name: str) -> dict:
        path = self._path(name)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise NotFoundError(f"no key named {name!r} (see: dpl keys list)") from None
        except (OSError, ValueError) as e:
            raise KeyUseError(f"key file {path} cannot be read: {e}") from None

    def info(self, name: str) -> KeyInfo:
        keystore = self._load(name)
        meta = keystore.get("dpl", {})
        address = meta.get("address") or to_checksum_address("0x" + keystore["address"])
        return KeyInfo(name, address, bool(meta.get("dev_only")))

    def list(self) -> list[KeyInfo]:
        if not self.dir.exists():
            return []
        return [self.info(p.stem) for p in sorted(self.dir.glob("*.json"))]

    def account(self, name: str, chain_id: int) -> LocalAccount:
        """Open a key for signing on ``chain_id``. Dev keys open only on the local chain."""
        keystore = self._load(name)
        meta = keystore.get("dpl", {})
        if meta.get("dev_only") and chain_id != LOCAL_CHAIN_ID:
            raise KeyUseError(
                f"key {name!r} is a public dev key; it is refused on chain {chain_id} "
                f"(only the local chain {LOCAL_CHAIN_ID} accepts it)"
            )
        candidates = [self._passphrase] if not meta.get("dev_only") else [
            lambda: self._configured or DEV_PASSPHRASE, lambda: DEV_PASSPHRASE]
        for get in candidates:
            try:
                return Account.from_key(Account.decrypt(keystore, get()))
            except ValueError:
                continue
        raise KeyUseError(f"wrong passphrase for key {name!r}")
