"""The ``Context``: what every use case may use, built once per process from ``Settings``.

The command line builds one per invocation (its root callback), the service one per worker
(its lifespan); both hand it to the use cases in ``ledger.service`` and ``ledger.pledge``.
Nothing here is built at import, and nothing is built before it is needed: a command that
reads a proof bundle never opens a keystore or asks a node for its chain id.

- ``store`` / ``parties``: the log store (migrated when opened) and the parties table;
- ``keyring``: the keystores under ``DPL_HOME/keys``, opened with the passphrase from the
  settings (``DPL_KEY_PASSPHRASE``) or, where the entry point can ask a person, a prompt;
- ``chain()``: the node at ``rpc_url`` with **our** registry on it — the deployment record
  for its chain id, checked once to hold our code — and every transaction it sends recorded
  by the nonce manager first. ``node()`` is the same node without a registry (deploying,
  verifying against a registry the caller names).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property

from pydantic import SecretStr

from ledger.errors import LedgerError
from ledger.settings import Settings


class Context:
    """One process's view of the ledger (see the module docstring). Thread-safe: the service's
    workers share one; the chain is checked once, under a lock."""

    def __init__(self, settings: Settings, *, ask_passphrase: Callable[[bool], str] | None = None):
        self.settings = settings
        self._ask_passphrase = ask_passphrase
        self._lock = threading.Lock()
        self._chain = None
        self._deployment: dict | None = None

    @classmethod
    def open(cls, settings: Settings, **kwargs) -> Context:
        """A context whose store is open (and migrated) already: the service's workers open it
        before they serve, so a bad database or data key fails at start, not on a request."""
        context = cls(settings, **kwargs)
        context.store  # noqa: B018 (opens and migrates)
        return context

    def use_rpc(self, rpc_url: str | None) -> Context:
        """Talk to ``rpc_url`` instead of the configured node (a command's ``--rpc``); before
        the first chain call only."""
        if rpc_url and rpc_url != self.settings.rpc_url:
            if self._chain is not None:
                raise LedgerError("the node cannot change once the chain was used")  # our bug if reached
            self.settings = self.settings.model_copy(update={"rpc_url": rpc_url})
        return self

    # --- storage and keys ----------------------------------------------------------------

    @cached_property
    def store(self):
        from ledger.store.logstore import LogStore

        return LogStore.open(self.settings)

    @cached_property
    def parties(self):
        from ledger.store.parties import PartyStore

        return PartyStore(self.store.engine)

    @cached_property
    def keyring(self):
        from ledger.keys import Keyring

        return Keyring(self.settings.home, self.passphrase, configured=self._configured_passphrase())

    def _configured_passphrase(self) -> str | None:
        secret = self.settings.key_passphrase
        return secret.get_secret_value() if secret is not None else None

    def passphrase(self, confirm: bool = False) -> str:
        """The keystores' passphrase: ``DPL_KEY_PASSPHRASE``, else asked (where a person can
        be asked), else a clear refusal. Asked once per process."""
        value = self._configured_passphrase()
        if not value and self._ask_passphrase is not None:
            value = self._ask_passphrase(confirm)
            self.settings = self.settings.model_copy(update={"key_passphrase": SecretStr(value)})
        if not value:
            raise LedgerError("no key passphrase: set DPL_KEY_PASSPHRASE to open the keystores in "
                              f"{self.settings.home / 'keys'}")
        return value

    # --- the chain ---------------------------------------------------------------------

    def node(self, rpc_url: str | None = None):
        """The node at ``rpc_url`` (default: the configured one) without a registry; whatever it
        sends is recorded by the nonce manager first."""
        from ledger.chain.client import Chain
        from ledger.transactions import Transactions

        return Transactions(self.store.engine).attach(Chain(rpc_url or self.settings.rpc_url))

    def chain(self):
        """The configured node with our registry on it, checked once: the deployment record of
        its chain id names an address that holds our registry's code."""
        with self._lock:
            if self._chain is None:
                from ledger.chain.client import Chain
                from ledger.chain.deploy import load_deployment, runtime_matches
                from ledger.transactions import Transactions

                url = self.settings.rpc_url
                probe = Chain(url)
                record = load_deployment(self.settings.home, probe.chain_id)
                if record.get("chain_id") != probe.chain_id:
                    raise LedgerError(f"the deployment record is for chain {record.get('chain_id')}, "
                                      f"but {probe.shown_url} is chain {probe.chain_id}")
                if not runtime_matches(probe, record["address"]):
                    raise LedgerError(f"no registry with the expected code at {record['address']} on chain "
                                      f"{probe.chain_id} (was the chain reset?); run: dpl deploy")
                chain = Transactions(self.store.engine).attach(probe.use_registry(record["address"]))
                self._chain, self._deployment = chain, record
            return self._chain

    def recorded_registry(self):
        """(chain, deployment record): the configured node with the registry its deployment
        record names, its code NOT checked (an audit reports a mismatch as a finding)."""
        from ledger.chain.client import Chain
        from ledger.chain.deploy import load_deployment

        probe = Chain(self.settings.rpc_url)
        record = load_deployment(self.settings.home, probe.chain_id)
        return probe.use_registry(record["address"]), record

    def deployment(self) -> dict:
        """Our registry's deployment record on the configured chain."""
        self.chain()
        return self._deployment

    @property
    def deployment_block(self) -> int:
        """The block our registry was deployed in: where event scans start."""
        return int(self.deployment().get("block_number", 0))

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
