"""Proof bundles of a log: one assembly for ``dpl prove`` / ``dpl consistency`` and the API's
record and consistency routes."""

from __future__ import annotations

from ledger import bundles
from ledger.errors import NotFoundError
from ledger.store.anchors import AnchorRow, AnchorStore
from ledger.store.logstore import InclusionProof, LogInfo, LogStore


#: ``record_bundle``'s anchor argument when the caller did not read it.
_UNREAD = object()


class Proofs:
    def __init__(self, store: LogStore):
        self.store = store

    def _log(self, log: LogInfo | str) -> LogInfo:
        """The log as the caller read it (the API's ``find_log``: no second read), or by name."""
        return log if isinstance(log, LogInfo) else self.store.get_log(log)

    def record_bundle(self, stream: LogInfo | str, index: int, size: int | None = None,
                      anchor: AnchorRow | None | object = _UNREAD) -> dict:
        """A ``dpl-proof/1`` bundle of the record at ``index``: against ``size`` when given (the
        store checks it before anything else uses it), else against the newest anchored
        checkpoint that covers the record, else the current size. The bundle names its anchor
        only when the chain holds a checkpoint of exactly the proof's size.

        A record the log does not hold (``index`` at or beyond its size) is ``NotFoundError``,
        as a record id it does not hold is, whatever ``size`` says; a ``size`` beyond the log,
        or one that does not cover ``index``, is ``InvalidArgumentError``. ``anchor``: the row
        ``AnchorStore.newest_anchored(pk, *anchor_wanted(index, size))`` as the caller read it
        (unread: read here). The record and its proof are one round trip."""
        info = self._log(stream)
        if not 0 <= index < info.size:
            raise NotFoundError(f"log {info.stream!r} has no record at index {index} (size {info.size})")
        if anchor is _UNREAD:
            anchor = AnchorStore(self.store.engine).newest_anchored(info.pk, *self.anchor_wanted(index, size))
        stored, proof = self.store.record_with_proof(info, index, anchor.size if size is None and anchor else size)
        entry = bundles.make_entry(index, stored.record, stored.salt, stored.leaf_hash, proof.proof)
        named = (bundles.make_anchor(anchor.chain_id, anchor.registry, anchor.tx_hash, anchor.block_number)
                 if anchor is not None and anchor.size == proof.size else None)
        return bundles.make_proof_bundle(info.stream, info.log_id, proof.size, proof.root, [entry], named,
                                         info.record_format)

    @staticmethod
    def anchor_wanted(index: int, size: int | None) -> tuple[int, int | None]:
        """``(above, size)`` of the anchored checkpoint ``record_bundle(…, index, size)`` names:
        the newest covering the record, or the one of exactly ``size``. A caller that reads the
        log anyway reads it in the same round trip (``Logs.find_by_log_id``) and passes it."""
        return (index, None) if size is None else (size - 1, size)

    def record_bundle_by_id(self, stream: LogInfo | str, record_id: str, size: int | None = None) -> dict:
        info = self._log(stream)
        return self.record_bundle(info, self.store.index_of(info, record_id), size)

    def inclusion(self, stream: LogInfo | str, index: int, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the leaf at ``index`` in the log's first ``size`` records
        (default: all): hashes only, no payload."""
        return self.store.inclusion_proof(stream, index, size)

    def consistency_bundle(self, stream: LogInfo | str, old: int, new: int | None = None) -> dict:
        """A ``dpl-consistency/1`` bundle: the log at ``new`` (default: now) extends it at ``old``."""
        info = self._log(stream)
        p = self.store.consistency_proof(info, old, new)
        return bundles.make_consistency_bundle(info.stream, info.log_id, p.old_size, p.old_root,
                                               p.new_size, p.new_root, p.proof)
