"""Production profiles and full disclosures: one home for ``dpl profile build|verify``,
``dpl disclose`` and the API's profile and disclosure routes (``docs/PROFILE.md``).

- ``build``: the ``dpl-profile/1`` of records ``[start, end)`` of a log at the newest anchored
  checkpoint covering them (checked against the chain), streamed from the store;
- ``disclosure_chunks``: the ``dpl-disclosure/1`` of the same range, written as a stream (one
  record in memory at a time) with its range proof and its anchor;
- ``disclose`` / ``disclosures`` / ``revoke``: a factory discloses a range to a named lender,
  who fetches it (and the factory's profile of it) until the factory revokes it;
- ``verify`` (pure, ``ledger.profile_verify``) and ``verify_on_chain``: what a lender runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson

from ledger.errors import ForbiddenError, InvalidArgumentError, NotFoundError
from ledger.profile import ProfileParams  # noqa: F401 (the edges build it through this module)


@dataclass(frozen=True)
class DisclosureView:
    """A disclosure as its two parties see it."""

    id: int
    stream: str
    log_id: bytes
    lender: str
    start: int
    end: int
    checkpoint_size: int
    tz: str
    created_at: datetime
    revoked_at: datetime | None

    def as_json(self) -> dict:
        return {"id": self.id, "stream": self.stream, "log_id": "0x" + self.log_id.hex(), "lender": self.lender,
                "range": {"from": self.start, "to": self.end}, "checkpoint_size": self.checkpoint_size,
                "tz": self.tz, "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


#: Bytes of a disclosure handed on at a time: one record per chunk would cost the service one
#: thread hop per record when it streams the document (21 s for 100,000 records, 2 s batched).
CHUNK_BYTES = 256 * 1024


def _batched(chunks: Iterator[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``chunks`` joined into pieces of about ``size`` bytes (memory: one piece)."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


class Profiles:
    """Profile and disclosure use cases over one ``Context``."""

    def __init__(self, ctx):
        self.ctx = ctx

    # --- the factory's side ------------------------------------------------------------

    def _range(self, stream: str, start: int, end: int, checkpoint: int | None):
        """(log info, anchored checkpoint row) for ``[start, end)``: the newest anchored
        checkpoint covering it (exactly ``checkpoint`` if given), held by the chain."""
        from ledger.pledge.asset import anchored_checkpoint

        info = self.ctx.store.get_log(stream)
        if not 0 <= start < end:
            raise InvalidArgumentError(f"the range [{start}, {end}) is empty or negative")
        if end > info.size:
            raise InvalidArgumentError(f"the range [{start}, {end}) goes past the end of {stream}, which has "
                                       f"{info.size} records")
        return info, anchored_checkpoint(self.ctx.store, info, self.ctx.chain(), end, checkpoint)

    def build(self, stream: str, start: int, end: int, params: ProfileParams | None = None,
              checkpoint: int | None = None, progress=None) -> dict:
        """The ``dpl-profile/1`` of records ``[start, end)`` of ``stream``, streamed from the store
        (read a second time if the records are out of time order: ``build_profile``).
        ``progress(n)`` is called with the records done so far, every few thousand, never
        going back nor past ``end - start`` (during a second read it waits until it passes
        the first)."""
        from ledger.profile import build_profile

        params = params or ProfileParams.checked()
        info, row = self._range(stream, start, end, checkpoint)
        shown = [0]

        def forward(n: int) -> None:
            if progress is not None and n > shown[0]:
                shown[0] = n
                progress(n)

        return build_profile(lambda: self._records(stream, start, end, forward), log_id=info.log_id, stream=info.stream,
                             start=start, end=end, checkpoint_size=row.size, checkpoint_root=row.root,
                             tz=params.tz, mapping=params.mapping, thresholds=params.thresholds)

    def _records(self, stream: str, start: int, end: int, progress) -> Iterator[tuple[int, dict]]:
        for n, stored in enumerate(self.ctx.store.iter_records(stream, start, end), 1):
            yield stored.index, stored.record
            if progress is not None and n % 4096 == 0:
                progress(n)
        if progress is not None:
            progress(end - start)

    def disclosure_chunks(self, stream: str, start: int, end: int, checkpoint: int | None = None) -> Iterator[bytes]:
        """The ``dpl-disclosure/1`` of ``[start, end)`` as a stream of bytes. The checkpoint and
        its range proof are found before the first byte is produced, so a bad range fails
        before anything is written."""
        from ledger.bundles import make_anchor
        from ledger.disclosure import disclosure_chunks

        info, row = self._range(stream, start, end, checkpoint)
        left, right = self.ctx.store.range_proof(stream, start, end, row.size)
        anchor = make_anchor(row.chain_id, row.registry, row.tx_hash, row.block_number)
        entries = ((s.index, s.salt, s.canonical) for s in self.ctx.store.iter_records(stream, start, end))
        return _batched(disclosure_chunks(log_id=info.log_id, stream=info.stream, start=start, end=end,
                                          size=row.size, root=row.root, anchor=anchor, left=left, right=right,
                                          entries=entries, record_format=info.record_format))

    # --- disclosures to a lender -------------------------------------------------------

    def _disclosures(self):
        from ledger.store.disclosures import DisclosureStore

        return DisclosureStore(self.ctx.store.engine, self.ctx.store.key)

    def disclose(self, party, stream: str, lender: str, start: int, end: int,
                 params: ProfileParams | None = None, checkpoint: int | None = None) -> DisclosureView:
        """``party`` (the factory owning ``stream``) discloses ``[start, end)`` in full to
        ``lender`` (an address), at the newest anchored checkpoint covering it."""
        params = params or ProfileParams.checked()
        info, row = self._range(stream, start, end, checkpoint)
        disclosure_id = self._disclosures().add(info.pk, party.id, lender, start, end, row.size,
                                                orjson.dumps(params.as_json()))
        return self.disclosure(party, disclosure_id)

    def disclosures(self, party) -> list[DisclosureView]:
        """Disclosures a factory made, those naming a lender, or none for other roles."""
        from ledger.service.scope import rows_for

        return [self._view(r) for r in rows_for(party, self._disclosures().list, auditors=False)]

    def _row(self, party, disclosure_id: int, live: bool = False):
        row = self._disclosures().get(disclosure_id)
        # absent, or not the caller's: one answer, so ids do not reveal other parties' disclosures
        if row is None or not ((party.role == "factory" and row.factory_party == party.id)
                               or (party.role == "lender" and row.lender == party.address)):
            raise NotFoundError(f"no disclosure {disclosure_id}")
        if live and row.revoked_at is not None and party.role == "lender":
            raise ForbiddenError(f"disclosure {disclosure_id} was revoked by the factory on "
                                 f"{row.revoked_at.isoformat(timespec='seconds')}")
        return row

    def _view(self, row) -> DisclosureView:
        info = self.ctx.store.get_log(row.stream)
        params = orjson.loads(row.params)
        return DisclosureView(row.id, row.stream, info.log_id, row.lender, row.start, row.end,
                              row.checkpoint_size, params["tz"], row.created_at, row.revoked_at)

    def disclosure(self, party, disclosure_id: int) -> DisclosureView:
        return self._view(self._row(party, disclosure_id))

    def disclosure_document(self, party, disclosure_id: int) -> tuple[DisclosureView, Iterator[bytes]]:
        """The disclosure's ``dpl-disclosure/1`` bytes, streamed (a revoked one: refused)."""
        row = self._row(party, disclosure_id, live=True)
        return self._view(row), self.disclosure_chunks(row.stream, row.start, row.end, row.checkpoint_size)

    def disclosure_profile(self, party, disclosure_id: int) -> dict:
        """The factory's profile of a disclosed range, with the parameters it chose."""
        row = self._row(party, disclosure_id, live=True)
        p = orjson.loads(row.params)
        return self.build(row.stream, row.start, row.end, ProfileParams(p["tz"], p["mapping"], p["thresholds"]),
                          row.checkpoint_size)

    def revoke(self, party, disclosure_id: int) -> DisclosureView:
        """The factory revokes a disclosure: the lender can no longer fetch it."""
        row = self._row(party, disclosure_id)
        if party.role != "factory":
            raise ForbiddenError("only the factory that made a disclosure may revoke it")
        self._disclosures().revoke(row.id)
        return self.disclosure(party, disclosure_id)


def verify(profile: object, disclosure: object, *, rpc_url: str | None = None, home=None,
           registry: str | None = None, factory: str | None = None):
    """A lender's verdict on ``profile`` given ``disclosure`` (``ledger.profile_verify``); with
    ``rpc_url`` also the chain checks of the disclosure's checkpoint through the registry this
    verifier trusts (``registry``, else the deployment record pinned for the chain under
    ``home``; never an address the files name) and, with ``factory``, the factory expected.
    Without ``rpc_url`` the verdict is on maths alone (as ``dpl verify`` without ``--rpc``):
    the edges say that the anchor was not checked."""
    from ledger.chain.check import expected_factory
    from ledger.profile_verify import verify_profile

    expected = expected_factory(factory)  # a malformed --factory is the caller's error, before any work
    verdict = verify_profile(profile, disclosure)
    if rpc_url is None or verdict.verified is None:
        return verdict
    from ledger.chain.client import Chain

    verdict.checks.extend(disclosure_chain_checks(verdict.verified, Chain(rpc_url), home, registry, expected))
    return verdict


def disclosure_chain_checks(v, chain, home, registry: str | None, expected: str | None) -> list:
    """The chain checks of a disclosure that verified offline (``v``: its ``Verified``): none
    possible (one failed ``anchor`` check saying why) when it names no anchor or an anchor on
    another chain than ``chain``'s, else ``ledger.chain.check.proof_checks`` through the registry
    this verifier trusts (``registry``, else the deployment pinned under ``home``)."""
    from ledger.chain.check import proof_checks
    from ledger.chain.deploy import trusted_registry
    from ledger.checks import Check

    if v.anchor is None:
        return [Check("anchor", False, "the disclosure names no anchor: nothing to check on chain")]
    if v.anchor.get("chain_id") != chain.chain_id:
        return [Check("anchor", False, f"{chain.shown_url} is chain {chain.chain_id}, but the disclosure's anchor "
                                       f"is on chain {v.anchor.get('chain_id')}")]
    return proof_checks(v, chain, trusted_registry(chain.chain_id, home, registry), expected)
