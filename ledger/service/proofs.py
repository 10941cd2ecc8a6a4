"""Proof bundles of a log: one assembly for ``dpl prove`` / ``dpl consistency`` and the API's
record and consistency routes."""

from __future__ import annotations

from ledger import bundles
from ledger.errors import NotFoundError
from ledger.store.anchors import AnchorStore
from ledger.store.logstore import InclusionProof, LogInfo, LogStore


class Proofs:
    def __init__(self, store: LogStore):
        self.store = store

    def _log(self, log: LogInfo | str) -> LogInfo:
        """The log as the caller read it (the API's ``find_log``: no second read), or by name."""
        return log if isinstance(log, LogInfo) else self.store.get_log(log)

    def record_bundle(self, stream: LogInfo | str, index: int, size: int | None = None) -> dict:
        """A ``dpl-proof/1`` bundle of the record at ``index``: against ``size`` when given (the
        store checks it before anything else uses it), else against the newest anchored
        checkpoint that covers the record, else the current size. The bundle names its anchor
        only when the chain holds a checkpoint of exactly the proof's size.

        A record the log does not hold (``index`` at or beyond its size) is ``NotFoundError``,
        as a record id it does not hold is, whatever ``size`` says; a ``size`` beyond the log,
        or one that does not cover ``index``, is ``InvalidArgumentError``."""
        info = self._log(stream)
        if not 0 <= index < info.size:
            raise NotFoundError(f"log {info.stream!r} has no record at index {index} (size {info.size})")
        anchors = AnchorStore(self.store.engine)
        if size is None:
            row = anchors.newest_anchored(info.pk, above=index)
            proof = self.store.inclusion_proof(info, index, row.size if row else None)
        else:
            proof = self.store.inclusion_proof(info, index, size)
            row = anchors.newest_anchored(info.pk, above=proof.size - 1, size=proof.size)
        stored = self.store.record_at(info, index)
        entry = bundles.make_entry(index, stored.record, stored.salt, stored.leaf_hash, proof.proof)
        anchor = (bundles.make_anchor(row.chain_id, row.registry, row.tx_hash, row.block_number)
                  if row is not None and row.size == proof.size else None)
        return bundles.make_proof_bundle(info.stream, info.log_id, proof.size, proof.root, [entry], anchor,
                                         info.record_format)

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
