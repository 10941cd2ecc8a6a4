"""Data-access grants (``dpl-grant/1``, ``docs/GRANTS.md``): one home for ``dpl grants …`` and the
API's grant routes.

- ``create``: a factory grants a lender party reads of its own logs (an unexpired grant);
- ``revoke``: the factory ends a grant at once (idempotent);
- ``list`` / ``get``: a factory sees its grants, a lender those naming it, an auditor all;
- ``read``: a lender reads records ``[start, end)`` of a granted log through a live grant: only
  the records the grant covers, each with only its granted ``data`` fields (``render_entry``,
  the one place a record is rendered). A read refused for a revoked or expired grant, or a log
  the grant does not name, is ``ForbiddenError`` (403); a grant that does not name the caller
  is ``NotFoundError`` (404), as if absent. Every read and every refused read of a grant that
  names the caller is written to the factory's access log first (``_record_access``); if that
  write fails, the read fails.

On a ``dpl-record/1`` log a record is provable only whole: a type granted with ``["*"]`` comes
with its salt and an inclusion proof against the newest anchored checkpoint; a record shown
with hidden fields comes without proof, and the answer says so (``UNPROVEN``). On a
``dpl-record/2`` log every record comes as a ``dpl-partial-record/1`` disclosing ``id``, ``ts``,
``type`` and its granted ``data`` fields (every other field a commitment, no record salt) with
its inclusion proof: provable whatever the grant hides (``ledger.grant_read`` verifies it).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from ledger import grants as rules
from ledger import record2
from ledger.leaves import RECORD_V1, RECORD_V2, bundle_field
from ledger.canonical import canonicalize
from ledger.errors import ForbiddenError, InvalidArgumentError, NotFoundError
from ledger.limits import MAX_INDEX

__all__ = ["READ_FORMAT", "MAX_READ", "UNPROVEN", "GrantView", "Grants", "render_entry"]

#: The format of a read's answer.
READ_FORMAT = "dpl-grant-read/1"
#: The most record indices one read may span (``to - from``): a read is one bounded page.
MAX_READ = 1000
#: What a lender is told of records shown with hidden fields on a ``dpl-record/1`` log.
UNPROVEN = ("dpl-record/1 cannot prove a record with hidden fields; these values are the factory "
            "service's word")


def _now_ms() -> int:
    """The service's clock (ms since the epoch): a grant's expiry is judged by it."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class GrantView:
    """A grant as its parties (and auditors) see it."""

    id: int
    factory: str
    grant: dict
    digest: bytes
    created_at: datetime
    revoked_at: datetime | None
    expired: bool

    @property
    def state(self) -> str:
        return "revoked" if self.revoked_at is not None else "expired" if self.expired else "live"

    def as_json(self) -> dict:
        return {"id": self.id, "factory": self.factory, "lender": self.grant["lender"],
                "digest": "0x" + self.digest.hex(), "state": self.state, "grant": self.grant,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def render_entry(grant: dict, stored, prove: Callable[[int], list[bytes] | None],
                 record_format: str = RECORD_V1) -> dict:
    """One record of a read, as the lender sees it (``dpl-record/1``): the record with only its
    granted ``data`` fields; a type granted whole (``["*"]``) also with its salt, leaf hash and
    inclusion proof (``prove(index)``: the audit path against the read's checkpoint, None if
    the record is past it); a record with hidden fields with ``"proven": false`` and nothing
    else that could reveal them. The one place a record is rendered: on a ``dpl-record/2`` log
    (per-field commitments, ``docs/RECORDS.md``) a hidden-field record is rendered here as a
    ``dpl-partial-record/1`` with ``prove(index)``.

    On a ``dpl-record/2`` log (``record_format``) every record is ``partial``: the
    ``dpl-partial-record/1`` disclosing ``id``, ``ts``, ``type`` and the granted ``data`` fields,
    with its leaf hash and inclusion proof (``"proven"``: a proof against the read's checkpoint
    was given). Never the record salt, nor a hidden field's salt (docs/RECORDS.md section 8)."""
    record = rules.shown(grant, stored.record)
    if record_format == RECORD_V2:
        names = ["id", "ts", "type", *("data." + k for k in record["data"])]
        proof = prove(stored.index)
        return {"index": stored.index, "record": record,
                "partial": record2.disclose(stored.record, stored.salt, names, index=stored.index),
                "proven": proof is not None, "leaf_hash": "0x" + stored.leaf_hash.hex(),
                "proof": ["0x" + h.hex() for h in proof] if proof is not None else None}
    if rules.visible_fields(grant, stored.record["type"]) != rules.ALL:
        return {"index": stored.index, "record": record, "proven": False}
    proof = prove(stored.index)
    return {"index": stored.index, "record": record, "proven": proof is not None,
            "salt": "0x" + stored.salt.hex(), "leaf_hash": "0x" + stored.leaf_hash.hex(),
            "proof": ["0x" + h.hex() for h in proof] if proof is not None else None}


class Grants:
    """Grant use cases over one ``Context``."""

    def __init__(self, ctx):
        self.ctx = ctx

    def _store(self):
        from ledger.store.grants import GrantStore

        return GrantStore(self.ctx.store.engine, self.ctx.store.key)

    def _view(self, row, now_ms: int | None = None) -> GrantView:
        grant = orjson.loads(row.document)
        factory = self.ctx.parties.by_id(row.factory_party).name
        return GrantView(row.id, factory, grant, row.digest, row.created_at, row.revoked_at,
                         rules.expired(grant, _now_ms() if now_ms is None else now_ms))

    def _row(self, party, grant_id: int):
        """The grant ``party`` may see, else ``NotFoundError`` (absent and not theirs: one answer,
        so ids do not reveal other parties' grants)."""
        row = self._store().get(grant_id)
        if row is None or not (party.role == "auditor"
                               or (party.role == "factory" and row.factory_party == party.id)
                               or (party.role == "lender" and row.lender == party.address)):
            raise NotFoundError(f"no grant {grant_id}")
        return row

    # --- the factory's side ------------------------------------------------------------

    def create(self, party, grant_obj) -> GrantView:
        """``party`` (a factory) grants the lender the grant names reads of its own logs.
        ``InvalidArgumentError`` naming the field: a malformed grant, an expiry not in the
        future, a lender that is not a lender party of this service, a log that is not the
        factory's (absent or another's: one answer)."""
        if party.role != "factory":
            raise ForbiddenError("only a factory grants reads of its logs")
        grant = rules.check_grant(grant_obj)
        if rules.expired(grant, _now_ms()):
            raise InvalidArgumentError(f"grant expires: {grant['expires']!r} is not in the future")
        if not any(p.role == "lender" and p.address == grant["lender"] for p in self.ctx.parties.list()):
            raise InvalidArgumentError(f"grant lender: {grant['lender']} is not a lender party of this service")
        mine = self.ctx.parties.logs_of(party.id)
        for log_id in grant["logs"]:
            info = self.ctx.store.find_by_log_id(bytes.fromhex(log_id[2:]))
            if info is None or info.pk not in mine:
                raise InvalidArgumentError(f"grant logs: {log_id} is not a log of yours")
        document = canonicalize(grant)
        grant_id = self._store().add(party.id, grant["lender"], document, hashlib.sha256(document).digest())
        return self.get(party, grant_id)

    def revoke(self, party, grant_id: int) -> GrantView:
        """The factory revokes its grant at once: no read through it succeeds after this
        returns. Revoking a revoked grant changes nothing."""
        row = self._row(party, grant_id)
        if party.role != "factory":
            raise ForbiddenError("only the factory that made a grant may revoke it")
        self._store().revoke(row.id)
        return self.get(party, grant_id)

    # --- seeing ------------------------------------------------------------------------

    def list(self, party) -> list[GrantView]:
        """A factory's grants, the grants naming a lender, every grant for an auditor; none for
        other roles."""
        from ledger.service.scope import rows_for

        rows = rows_for(party, self._store().list)
        now = _now_ms()
        return [self._view(r, now) for r in rows]

    def get(self, party, grant_id: int) -> GrantView:
        return self._view(self._row(party, grant_id))

    # --- the lender's reads ------------------------------------------------------------

    def read(self, party, grant_id: int, log_id: str, start: int, end: int, *,
             key_prefix: str | None = None) -> dict:
        """Records ``[start, end)`` (at most ``MAX_READ`` indices; clipped to the log's size) of
        log ``log_id`` (0x hex) that grant ``grant_id`` covers, each rendered by
        ``render_entry``, in the ``dpl-grant-read/1`` answer (docs/GRANTS.md). ``party`` must
        be the lender the grant names (``NotFoundError`` otherwise; a party that is not a
        lender: ``ForbiddenError``). A revoked or expired grant, or a log it does not name, is
        ``ForbiddenError``, recorded as refused; a read is recorded before it is answered."""
        if party.role != "lender":
            raise ForbiddenError(f"a {party.role} may not read records through a grant")
        if type(log_id) is not str or not rules._LOG_ID.fullmatch(log_id.lower()):
            raise InvalidArgumentError("log: must be a log id (0x and 64 hex digits)")
        log_id = log_id.lower()
        if not (0 <= start < end <= MAX_INDEX):
            raise InvalidArgumentError(f"the range [{start}, {end}) is empty or negative")
        if end - start > MAX_READ:
            raise InvalidArgumentError(f"a read spans at most {MAX_READ:,} record indices, not {end - start:,}: "
                                       "read the range in pages")
        row = self._row(party, grant_id)
        grant = orjson.loads(row.document)
        self._refuse_if_dead(row, grant, party, key_prefix, log_id, (start, end))

        from ledger.bundles import make_anchor
        from ledger.service.proofs import Proofs
        from ledger.store.anchors import AnchorStore

        info = self.ctx.store.find_by_log_id(bytes.fromhex(log_id[2:]))
        if info is None:  # granted logs are never deleted: our bug if reached
            raise NotFoundError("no such log")
        end = min(end, info.size)
        checkpoint = AnchorStore(self.ctx.store.engine).newest_anchored(info.pk, above=-1)
        proofs = Proofs(self.ctx.store)

        def prove(index: int) -> list[bytes] | None:
            if checkpoint is None or index >= checkpoint.size:
                return None
            return proofs.inclusion(info.stream, index, checkpoint.size).proof

        entries, types = [], set()
        for stored in (self.ctx.store.iter_records(info.stream, start, end) if start < end else ()):
            if not rules.covers(grant, log_id, stored.index, stored.record):
                continue
            entries.append(render_entry(grant, stored, prove, info.record_format))
            types.add(stored.record["type"])
        # revoked (or expired) while the page was read: refused, so no read passes after revoke returns
        self._refuse_if_dead(self._row(party, grant_id), grant, party, key_prefix, log_id, (start, end))
        indices = [e["index"] for e in entries]
        span = (start, max(start, end))
        receipt = self._record_access(row, party, key_prefix, log_id,
                                      span if indices == list(range(*span)) else indices,
                                      self._fields(grant, types), "read", None)
        return {"format": READ_FORMAT, **bundle_field(info.record_format),
                "grant": {"id": row.id, "digest": "0x" + row.digest.hex()},
                "log_id": log_id, "stream": info.stream, "range": {"from": start, "to": span[1]},
                "checkpoint": ({"size": checkpoint.size, "root": "0x" + checkpoint.root.hex()}
                               if checkpoint is not None else None),
                "anchor": (make_anchor(checkpoint.chain_id, checkpoint.registry, checkpoint.tx_hash,
                                       checkpoint.block_number) if checkpoint is not None else None),
                "notice": UNPROVEN if any(not e["proven"] and "proof" not in e for e in entries) else None,
                "records": entries, "receipt": receipt}

    def _refuse_if_dead(self, row, grant: dict, party, key_prefix, log_id: str, span: tuple[int, int]) -> None:
        """``ForbiddenError`` (recorded as refused) for a revoked or expired grant, or a log it
        does not name."""
        refused = None
        if row.revoked_at is not None:
            refused = f"grant {row.id} was revoked by the factory on {row.revoked_at.isoformat(timespec='seconds')}"
        elif rules.expired(grant, _now_ms()):
            refused = f"grant {row.id} expired at {grant['expires']}"
        elif log_id not in grant["logs"]:
            refused = f"grant {row.id} does not name log {log_id}"
        if refused is not None:
            self._record_access(row, party, key_prefix, log_id, span, self._fields(grant, grant["types"]),
                                "refused", refused)
            raise ForbiddenError(refused)

    @staticmethod
    def _fields(grant: dict, types) -> dict:
        """The fields of ``types`` the grant shows, as the access log names them."""
        return {t: (rules.ALL if grant["types"][t] == [rules.ALL] else list(grant["types"][t])) for t in sorted(types)}

    def _record_access(self, row, party, key_prefix, log_id, indices, fields, outcome, reason) -> dict:
        """Write the read (or the refusal) to the factory's access log before answering; the
        receipt (``{"access_log", "index", "leaf_hash"}``). If the entry cannot be written this
        raises, and the read fails with it: no answer leaves unrecorded."""
        from ledger.service.access_log import AccessLog

        return AccessLog(self.ctx).record(
            factory_party=self.ctx.parties.by_id(row.factory_party), reader_party=party, key_prefix=key_prefix,
            grant_id=row.id, log_id=log_id, indices=indices, fields=fields, outcome=outcome,
            reason=reason).as_json()
