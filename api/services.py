"""What every request may use: the service's ``Context`` (``ledger.service.context``), built once
per worker from ``Settings`` (no import-time globals), plus the web sessions."""

from __future__ import annotations

from functools import cached_property

from ledger.service.context import Context
from ledger.store.web_sessions import WebSessions


class Services(Context):
    """The service's Context: no one can be asked for the keystores' passphrase, so custodial
    keys open only when ``DPL_KEY_PASSPHRASE`` is set (a clear refusal otherwise)."""

    @cached_property
    def sessions(self) -> WebSessions:
        return WebSessions(self.store.engine, self.parties)
