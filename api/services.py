"""What every request may use, built once per app from ``Settings`` (no import-time globals)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from ledger.chain.client import Chain
from ledger.errors import LedgerError
from ledger.keys import Keyring
from ledger.settings import Settings
from ledger.store.logstore import LogStore
from ledger.store.parties import PartyStore
from ledger.store.web_sessions import WebSessions
from ledger.transactions import Transactions


def _passphrase() -> str:
    value = os.environ.get("DPL_KEY_PASSPHRASE")
    if not value:
        raise LedgerError("the service holds no key passphrase (set DPL_KEY_PASSPHRASE) to open custodial keys")
    return value


@dataclass
class Services:
    settings: Settings
    store: LogStore
    parties: PartyStore
    keyring: Keyring
    sessions: WebSessions
    _chain: Chain | None = None
    _deployment: dict | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings) -> Services:
        store = LogStore.open(settings)
        parties = PartyStore(store.engine)
        return cls(settings, store, parties, Keyring(settings.home, _passphrase), WebSessions(store.engine, parties))

    def deployment(self) -> dict:
        self.chain()
        return self._deployment

    def chain(self) -> Chain:
        """The chain and our registry on it; checked once (code at the recorded address)."""
        with self._lock:
            if self._chain is None:
                from ledger.chain.deploy import load_deployment, runtime_matches

                probe = Chain(self.settings.rpc_url)
                record = load_deployment(self.settings.home, probe.chain_id)
                # every transaction the service sends is recorded first (the nonce manager)
                chain = Transactions(self.store.engine).attach(Chain(self.settings.rpc_url, record["address"]))
                if not runtime_matches(chain, record["address"]):
                    raise LedgerError(f"no registry with the expected code at {record['address']} on chain "
                                      f"{chain.chain_id}; run: dpl deploy")
                self._chain, self._deployment = chain, record
            return self._chain

    def close(self) -> None:
        self.store.close()
