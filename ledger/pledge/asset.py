"""The data asset a pledge commits to: records ``[start, end)`` of a log at a checkpoint this
chain's registry anchored, described by their manifest and its digest (read from the store,
the anchored root checked against the chain)."""

from __future__ import annotations

from ledger.chain.client import Chain
from ledger.errors import InvalidArgumentError, LedgerError, NotFoundError
from ledger.pledge.chain import anchored_root


def anchored_checkpoint(store, info, chain, min_size: int, size: int | None):
    """The newest checkpoint of ``info`` anchored on this chain's registry with size >=
    ``min_size`` (exactly ``size`` if given), checked against the root the chain holds."""
    from ledger.store.anchors import FINAL, INCLUDED, AnchorStore

    if info.log_id is None:
        raise NotFoundError(f"log {info.stream} has never been anchored (run: dpl anchor)")
    rows = [r for r in AnchorStore(store.engine).for_log(chain.chain_id, chain.registry.address, info.pk)
            if r.state in (INCLUDED, FINAL) and r.size >= min_size and (size is None or r.size == size)]
    if not rows:
        want = f"of size {size}" if size is not None else f"covering index {min_size - 1}"
        raise NotFoundError(f"log {info.stream} has no anchored checkpoint {want} on chain {chain.chain_id} "
                            "(ingest, then run: dpl anchor)")
    row = max(rows, key=lambda r: r.size)
    if anchored_root(chain, info.log_id, row.size) != row.root:
        raise LedgerError(f"the chain does not hold the checkpoint of size {row.size} this store recorded "
                          "(reorg or reset chain?); run: dpl anchor, then dpl audit")
    return row


def describe_asset(store, chain: Chain, stream: str, start: int, end: int, checkpoint: int | None = None,
                   params=None):
    """(log info, manifest, asset digest) of records ``[start, end)`` of ``stream``, committed by
    the newest anchored checkpoint covering them (exactly ``checkpoint`` if given). With
    ``params`` (``ProfileParams``: tz, mapping, thresholds) the manifest is ``dpl-asset/2``,
    carrying the range's profile computed from the store with them."""
    from ledger.assets import asset_digest

    info = store.get_log(stream)
    if not 0 <= start < end:
        raise InvalidArgumentError(f"the range [{start}, {end}) is empty or negative")
    if end > info.size:
        raise InvalidArgumentError(f"the range [{start}, {end}) goes past the end of {stream}, which has "
                                   f"{info.size} records")
    row = anchored_checkpoint(store, info, chain, end, checkpoint)
    manifest = manifest_at(store, info, start, end, row.size, row.root, params)
    return info, manifest, asset_digest(manifest)


def manifest_at(store, info, start: int, end: int, size: int, root: bytes, params=None) -> dict:
    """The manifest of ``[start, end)`` of log ``info`` at checkpoint ``(size, root)``: v1, or
    with ``params`` v2 (the profile computed from the store with those parameters)."""
    from ledger.assets import build_manifest

    profile = None
    if params is not None:
        from ledger.profile import build_profile

        # a callable: streamed in flat memory, read again only if the records are out of time order
        profile = build_profile(lambda: ((s.index, s.record) for s in store.iter_records(info.stream, start, end)),
                                log_id=info.log_id, stream=info.stream, start=start, end=end, checkpoint_size=size,
                                checkpoint_root=root, tz=params.tz, mapping=params.mapping,
                                thresholds=params.thresholds)
    return build_manifest(store, info.stream, start, end, size, root, profile=profile)


def profile_params_of(manifest: object):
    """The ``ProfileParams`` a ``dpl-asset/2`` manifest's profile was computed with (checked),
    or None for any other manifest."""
    from ledger.assets import ASSET_FORMAT_V2
    from ledger.profile import ProfileParams

    if type(manifest) is not dict or manifest.get("format") != ASSET_FORMAT_V2:
        return None
    p = manifest.get("profile")
    if type(p) is not dict:
        return None
    return ProfileParams.checked(p.get("tz"), p.get("mapping"), p.get("thresholds"))


def _digest(manifest: object) -> bytes | None:
    """The asset digest of a manifest read from a consent, None if it has none."""
    from ledger.assets import asset_digest
    from ledger.canonical import CanonicalError

    try:
        return asset_digest(manifest) if type(manifest) is dict else None
    except CanonicalError:
        return None


def pledged_manifest(store, stream: str, terms, root: bytes, manifests=()) -> dict | None:
    """The manifest pledge ``terms`` committed to, rebuilt from the store: the ``dpl-asset/1``
    of its range, or the ``dpl-asset/2`` recomputed with the profile parameters of the first
    of ``manifests`` (the consents' manifests) whose digest is the pledged asset digest. None
    when neither is known; the caller compares the result's digest with the chain's (a store
    that changed since the consent gives another digest)."""
    from ledger.assets import asset_digest, build_manifest

    t = terms
    manifest = build_manifest(store, stream, t.start, t.end, t.checkpoint_size, root)
    if asset_digest(manifest) == t.asset_digest:
        return manifest
    pledged = next((m for m in manifests if _digest(m) == t.asset_digest and profile_params_of(m) is not None), None)
    if pledged is None:
        return None
    return manifest_at(store, store.get_log(stream), t.start, t.end, t.checkpoint_size, root,
                       profile_params_of(pledged))
