"""Collateral bundles against the chain: the factory builds one from its store, a lender
checks one with nothing but an RPC URL.

``ledger.pledge.collateral`` holds the format and the pure checks; this module reads what the chain
knows (the pledge's terms and status, the anchored root, the issue block's hash) and adds
the checks only the chain can answer (is the trusted registry ours, does the pledge still hold
its lien, whose log it is).
"""

from __future__ import annotations

from pathlib import Path

from eth_utils import to_checksum_address

from ledger.assets import asset_digest
from ledger.bundles import make_entry
from ledger.chain.client import Chain
from ledger.errors import ChainError, InvalidArgumentError, InvariantError, LedgerError, NotFoundError
from ledger.pledge.chain import PledgeView, anchored_root, read_pledge
from ledger.pledge.collateral import (Check, CollateralReport, figures_from_disclosure, is_valid_address,
                                      make_collateral_bundle, verify_collateral)
from ledger.pledge.terms import TOKEN_ID_MAX, covenants_digest_of
from ledger.sampling import sample_indices, sample_seed


def _stream_of(store, log_id: bytes) -> str:
    for info in store.list_logs():
        if info.log_id == log_id:
            return info.stream
    raise NotFoundError(f"this store has no log 0x{log_id.hex()}: build the bundle where the factory's records are")


def _digest_or_none(covenants: object) -> bytes | None:
    try:
        return covenants_digest_of(covenants)
    except InvalidArgumentError:  # a malformed set is no candidate
        return None


def build_bundle(store, chain: Chain, token_id: int, manifests=None, covenant_sets=None) -> dict:
    """The factory's ``dpl-collateral/1`` bundle for pledge ``token_id``: the manifest and the
    records at the sampled indices, with salts and inclusion proofs at the pledged checkpoint.

    The manifest is rebuilt from the store: ``dpl-asset/1``, or (a pledge of a ``dpl-asset/2``)
    with the profile recomputed with the parameters of the first manifest ``manifests(terms)``
    yields whose digest is the pledged asset digest (the consent's); either way its digest
    must be the pledge's. A pledge whose terms commit to covenants carries the first set
    ``covenant_sets(terms)`` yields that hashes to their ``covenantsDigest``."""
    from ledger.pledge.asset import pledged_manifest

    view = read_pledge(chain, token_id)
    t = view.terms
    stream = _stream_of(store, t.log_id)
    root = store.root_at(stream, t.checkpoint_size)
    if anchored_root(chain, t.log_id, t.checkpoint_size) != root:
        raise LedgerError(f"the chain does not hold this store's root at size {t.checkpoint_size}: run dpl audit")
    manifest = pledged_manifest(store, stream, t, root, manifests(t) if manifests is not None else ())
    if manifest is None:
        raise NotFoundError(
            f"the records of {stream} [{t.start}, {t.end}) do not hash to the pledged asset digest "
            f"0x{t.asset_digest.hex()} as a dpl-asset/1 manifest, and no consent with a profile for it is known: "
            "give the consent the pledge was issued from (dpl pledge bundle --consent FILE), or run dpl audit")
    if asset_digest(manifest) != t.asset_digest:
        raise InvariantError(f"the records of {stream} [{t.start}, {t.end}) do not hash to the pledged asset digest "
                             f"0x{t.asset_digest.hex()}: the store changed since the consent (run dpl audit)")
    covenants = None
    if t.covenants_digest != bytes(32):
        covenants = next((c for c in (covenant_sets(t) if covenant_sets is not None else ())
                          if _digest_or_none(c) == t.covenants_digest), None)
        if covenants is None:
            raise NotFoundError(
                f"pledge {token_id} commits to covenants with digest 0x{t.covenants_digest.hex()} and no consent "
                "known here carries them: give the consent the pledge was issued from (dpl pledge bundle --consent FILE)")
    block_hash = chain.block_hash(view.issue_block)
    if block_hash is None:
        raise ChainError(f"the node does not have block {view.issue_block} (where pledge {token_id} was issued)")
    entries = []
    for index in sample_indices(sample_seed(block_hash, token_id), t.start, t.end, t.samples):
        stored = store.record_at(stream, index)
        proof = store.inclusion_proof(stream, index, t.checkpoint_size)
        entries.append(make_entry(index, stored.record, stored.salt, stored.leaf_hash, proof.proof))
    return make_collateral_bundle(token_id=token_id, chain_id=chain.chain_id, registry=chain.registry.address,
                                  issue_block_number=view.issue_block, issue_block_hash=block_hash,
                                  manifest=manifest, entries=entries, covenants=covenants,
                                  record_format=store.get_log(stream).record_format)


def verify_against_chain(bundle: object, token_id: int, rpc_url: str, home: Path | None = None,
                         registry: str | None = None, factory: str | None = None,
                         disclosure: object = None) -> CollateralReport:
    """Every check of a collateral bundle for pledge ``token_id``, reading the chain at
    ``rpc_url`` through the registry this verifier trusts (``registry`` when given, else the
    deployment record pinned for the chain under ``home`` or shipped with the package; never
    the one the bundle names); with ``factory`` (``--factory``), also that the pledged log is
    that factory's (``expected factory``); with ``disclosure`` (a ``dpl-disclosure/1`` of the
    pledged range) the profile's figures are recomputed from it (``figures_from_disclosure``).
    No trusted registry raises ``UntrustedRegistryError``,
    a node that is down ``ChainUnavailableError``; every problem with the bundle is a failed check."""
    from ledger.chain.check import (expected_factory, expected_factory_check, factory_check, read_factory,
                                    registry_check)
    from ledger.chain.deploy import trusted_registry

    expected = expected_factory(factory)
    chain = Chain(rpc_url)
    trusted = trusted_registry(chain.chain_id, home, registry)
    chain.use_registry(trusted.address)  # one provider: one eth_chainId, not one per client
    checks = [registry_check(chain, trusted)]
    if not checks[0].ok:
        return CollateralReport(token_id, checks)
    address = trusted.address
    if isinstance(bundle, dict):
        named = (bundle.get("chain_id"), bundle.get("registry"), bundle.get("token_id"))
        # the same address in any valid spelling (all lower case, or EIP-55) names the same registry
        same_registry = is_valid_address(named[1]) and to_checksum_address(named[1]) == address
        same = same_registry and (named[0], named[2]) == (chain.chain_id, token_id)
        checks.append(Check("bundle names this pledge", same,
                            f"bundle: token {named[2]} on {named[1]} chain {named[0]}" if not same
                            else f"token {token_id} on {address}, chain {chain.chain_id}"))
    if not 1 <= token_id <= TOKEN_ID_MAX:  # never sent in a call: the registry counts token ids in uint64
        return CollateralReport(token_id, [*checks, Check(
            "pledge", False, f"no pledge {token_id} in registry {address} on chain {chain.chain_id}: "
                             "token ids are 1 to 2^64 - 1 (the registry counts in uint64)")])
    try:
        view: PledgeView = read_pledge(chain, token_id)
    except NotFoundError as e:
        return CollateralReport(token_id, [*checks, Check("pledge", False, str(e))])
    holds = view.status in ("live", "defaulted")
    checks.append(Check("pledge holds its lien", holds, f"status {view.status}, holder {view.holder or '-'}"))
    t = view.terms
    owner, listing = read_factory(chain, t.log_id)
    checks.append(factory_check(t.log_id, _manifest_stream(bundle), owner, listing))
    if expected is not None:
        checks.append(expected_factory_check(owner, listing, expected))
    held = anchored_root(chain, t.log_id, t.checkpoint_size)
    block_hash = chain.block_hash(view.issue_block)
    report = verify_collateral(bundle, token_id=token_id, terms=t, issue_block=view.issue_block,
                               anchored_root=held, issue_block_hash=block_hash)
    if disclosure is not None:
        report = figures_from_disclosure(report, bundle, disclosure, t)
    return CollateralReport(token_id, checks + report.checks)


def _manifest_stream(bundle: object) -> object:
    """The stream the bundle's manifest names (whatever it is: ``factory_check`` judges it)."""
    manifest = bundle.get("manifest") if type(bundle) is dict else None
    return manifest.get("stream") if type(manifest) is dict else None
