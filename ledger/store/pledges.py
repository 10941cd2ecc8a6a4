"""The pledge mirror: the registry's pledges as rows, rebuilt from chain events.

The chain is the source of truth. The mirror exists so lists and joins (a lender's pledges,
a log's pledges) need no chain scan; ``ledger.pledge.mirror.sync`` keeps it current and rebuilds
it when the chain reorganised under the block it last read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from ledger.pledge.terms import Terms
from ledger.store.db import write_transaction
from ledger.store.models import Pledge, PledgeHolding, PledgeSync

_COLUMNS = [c for c in Pledge.__table__.columns]


def issued_row(event: dict) -> dict:
    """The columns of a ``PledgeIssued`` event (``terms``: its ``Terms``; ``factory``, ``holder``,
    ``nonce``, ``issue_tx``): the one mapping of terms to the table, integers beyond SQL's
    (principal, nonce) as decimal text."""
    t: Terms = event["terms"]
    return {"log_id": t.log_id, "start": t.start, "end": t.end, "checkpoint_size": t.checkpoint_size,
            "asset_digest": t.asset_digest, "principal": str(t.principal), "currency": t.currency,
            "maturity": t.maturity, "lien_end": t.lien_end, "max_lien_end": t.max_lien_end, "samples": t.samples,
            "loan_ref_digest": t.loan_ref_digest, "lender": t.lender, "covenants_digest": t.covenants_digest,
            "factory": event["factory"],
            "holder": event["holder"], "nonce": str(event["nonce"]), "issue_tx": event["issue_tx"]}


@dataclass(frozen=True)
class SyncPoint:
    block_number: int
    block_hash: bytes


class PledgeMirror:
    def __init__(self, engine: Engine, chain_id: int, registry: str):
        self.engine = engine
        self.chain_id = chain_id
        self.registry = registry

    def _where(self, table):
        return (table.chain_id == self.chain_id, table.registry_address == self.registry)

    def sync_point(self) -> SyncPoint | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(PledgeSync.block_number, PledgeSync.block_hash).where(*self._where(PledgeSync))).first()
        return SyncPoint(r.block_number, bytes(r.block_hash)) if r else None

    def apply(self, events: list[dict], point: SyncPoint, rebuild: bool) -> None:
        """Apply decoded events (in chain order) and move the sync point, in one transaction:
        a failure leaves the mirror as it was. ``rebuild`` first drops every row."""
        with write_transaction(self.engine) as conn:
            if rebuild:
                conn.execute(delete(Pledge).where(*self._where(Pledge)))
                conn.execute(delete(PledgeHolding).where(*self._where(PledgeHolding)))
            for event in events:
                self._apply_one(conn, event)
            conn.execute(delete(PledgeSync).where(*self._where(PledgeSync)))
            conn.execute(PledgeSync.__table__.insert().values(
                chain_id=self.chain_id, registry_address=self.registry,
                block_number=point.block_number, block_hash=point.block_hash))

    def _apply_one(self, conn: Connection, event: dict) -> None:
        kind, token_id, block = event["event"], event["token_id"], event["block_number"]
        key = (Pledge.chain_id == self.chain_id, Pledge.registry_address == self.registry,
               Pledge.token_id == token_id)
        if kind == "PledgeIssued":
            conn.execute(delete(Pledge).where(*key))  # replaying a range of blocks is harmless
            conn.execute(delete(PledgeHolding).where(*self._where(PledgeHolding), PledgeHolding.token_id == token_id))
            conn.execute(Pledge.__table__.insert().values(
                chain_id=self.chain_id, registry_address=self.registry, token_id=token_id,
                **issued_row(event), status="live", issue_block=block, updated_block=block))
            self._hold(conn, token_id, event["holder"], block, event["issue_tx"])
            return
        if kind in ("PledgeTransferred", "PledgeReleased"):
            self._end_holding(conn, token_id, event)
        changes = {"PledgeTransferred": lambda: {"holder": event["to"]},
                   "PledgeReleased": lambda: {"status": "released", "holder": None},
                   "PledgeDefaulted": lambda: {"status": "defaulted"},
                   "PledgeExtended": lambda: self._extended(conn, key, event["new_lien_end"])}[kind]()
        conn.execute(Pledge.__table__.update().where(*key).values(**changes, updated_block=block))

    def _hold(self, conn: Connection, token_id: int, holder: str, block: int, tx: bytes | None) -> None:
        conn.execute(PledgeHolding.__table__.insert().values(
            chain_id=self.chain_id, registry_address=self.registry, token_id=token_id, holder=holder,
            since_block=block, since_tx=tx))

    def _end_holding(self, conn: Connection, token_id: int, event: dict) -> None:
        """Close the open holding of ``token_id`` (a transfer opens the receiver's)."""
        block, tx = event["block_number"], event.get("tx")
        transferred = event["event"] == "PledgeTransferred"
        conn.execute(PledgeHolding.__table__.update().where(
            *self._where(PledgeHolding), PledgeHolding.token_id == token_id, PledgeHolding.until_block.is_(None),
        ).values(until_block=block, until_tx=tx, ended="transferred" if transferred else "released",
                 ended_to=event["to"] if transferred else None))
        if transferred:
            self._hold(conn, token_id, event["to"], block, tx)

    def holdings(self, holder: str | None = None, token_id: int | None = None) -> list[dict]:
        """Holding periods in chain order: of one holder, of one token, or all."""
        query = select(*[c for c in PledgeHolding.__table__.columns if c.name != "id"]).where(*self._where(PledgeHolding))
        if holder is not None:
            query = query.where(PledgeHolding.holder == holder)
        if token_id is not None:
            query = query.where(PledgeHolding.token_id == token_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(PledgeHolding.id))]

    @staticmethod
    def _extended(conn: Connection, key, new_lien_end: int) -> dict:
        """An extension past ``max_lien_end`` (with the factory's consent) moves it along, as the
        registry does."""
        current = conn.execute(select(Pledge.max_lien_end).where(*key)).scalar()
        if current is not None and new_lien_end > current:
            return {"lien_end": new_lien_end, "max_lien_end": new_lien_end}
        return {"lien_end": new_lien_end}

    def get(self, token_id: int) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(*_COLUMNS).where(*self._where(Pledge), Pledge.token_id == token_id)).first()
        return dict(r._mapping) if r else None

    def list(self, log_id: bytes | None = None, holder: str | None = None) -> list[dict]:
        query = select(*_COLUMNS).where(*self._where(Pledge))
        if log_id is not None:
            query = query.where(Pledge.log_id == log_id)
        if holder is not None:
            query = query.where(Pledge.holder == holder)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(Pledge.token_id))]
