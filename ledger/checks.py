"""One check of a verifier's report: its name (the browser's words too), whether it passed, and
what it found. Every verifier reports a list of these: the collateral check
(``ledger.pledge.collateral``), the chain checks (``ledger.chain.check``) and the profile verdict
(``ledger.profile_verify``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
