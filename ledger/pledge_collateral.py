"""Collateral bundles against the chain: the factory builds one from its store, a lender
checks one with nothing but an RPC URL.

``ledger.collateral`` holds the format and the pure checks; this module reads what the chain
knows (the pledge's terms and status, the anchored root, the issue block's hash) and adds
the checks only the chain can answer (is the registry ours, does the pledge still hold its
lien).
"""

from __future__ import annotations

from pathlib import Path

from eth_utils import is_address, to_checksum_address

from ledger.assets import asset_digest, build_manifest
from ledger.bundles import make_entry
from ledger.chain.client import Chain
from ledger.collateral import Check, CollateralReport, PledgeTerms, make_collateral_bundle, verify_collateral
from ledger.errors import ChainError, InvariantError, LedgerError, NotFoundError
from ledger.pledges import PledgeView, read_pledge
from ledger.sampling import sample_indices, sample_seed


def _stream_of(store, log_id: bytes) -> str:
    for info in store.list_logs():
        if info.log_id == log_id:
            return info.stream
    raise NotFoundError(f"this store has no log 0x{log_id.hex()}: build the bundle where the factory's records are")


def build_bundle(store, chain: Chain, token_id: int) -> dict:
    """The factory's ``dpl-collateral/1`` bundle for pledge ``token_id``: the manifest and the
    records at the sampled indices, with salts and inclusion proofs at the pledged checkpoint."""
    view = read_pledge(chain, token_id)
    t = view.terms
    stream = _stream_of(store, t.log_id)
    root = store.root_at(stream, t.checkpoint_size)
    anchored, anchored_at = chain.call(chain.registry.functions.rootAt(t.log_id, t.checkpoint_size).call)
    if anchored_at == 0 or bytes(anchored) != root:
        raise LedgerError(f"the chain does not hold this store's root at size {t.checkpoint_size}: run dpl audit")
    manifest = build_manifest(store, stream, t.start, t.end, t.checkpoint_size, root)
    if asset_digest(manifest) != t.asset_digest:
        raise InvariantError(f"the records of {stream} [{t.start}, {t.end}) do not hash to the pledged asset digest "
                             f"0x{t.asset_digest.hex()}: the store changed since the consent (run dpl audit)")
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
                                  manifest=manifest, entries=entries)


def _registry_address(bundle: object, chain_id: int, home: Path | None) -> tuple[str | None, str]:
    """The registry to check against: this machine's deployment record for the chain when it
    has one (a bundle cannot redirect the lender), else the one the bundle names."""
    from ledger.chain.deploy import deployment_path

    if home is not None:
        path = deployment_path(home, chain_id)
        if path.exists():
            import json

            return json.loads(path.read_text())["address"], f"the deployment record {path}"
    named = bundle.get("registry") if isinstance(bundle, dict) else None
    if isinstance(named, str) and is_address(named):
        return to_checksum_address(named), "the bundle"
    return None, "the bundle"


def verify_against_chain(bundle: object, token_id: int, rpc_url: str, home: Path | None = None) -> CollateralReport:
    """Every check of a collateral bundle for pledge ``token_id``, reading the chain at
    ``rpc_url``. A node that is down raises ``ChainUnavailableError``; every other problem is a
    failed check in the report."""
    from ledger.chain.deploy import runtime_matches

    chain = Chain(rpc_url)
    checks: list[Check] = []
    address, source = _registry_address(bundle, chain.chain_id, home)
    if address is None:
        return CollateralReport(token_id, [Check("registry", False, "no registry to check against: the bundle names "
                                                 "none and there is no deployment record for chain "
                                                 f"{chain.chain_id}")])
    chain.use_registry(address)  # one provider: one eth_chainId, not one per client
    ours = runtime_matches(chain, address)
    checks.append(Check("registry", ours, f"{address} on chain {chain.chain_id} (from {source}) "
                        + ("holds the data-pledge registry code" if ours else "does NOT hold the registry's code")))
    if not ours:
        return CollateralReport(token_id, checks)
    if isinstance(bundle, dict):
        named = (bundle.get("chain_id"), bundle.get("registry"), bundle.get("token_id"))
        # the same address in any valid spelling (all lower case, or EIP-55) names the same registry
        same_registry = isinstance(named[1], str) and is_address(named[1]) and to_checksum_address(named[1]) == address
        same = same_registry and (named[0], named[2]) == (chain.chain_id, token_id)
        checks.append(Check("bundle names this pledge", same,
                            f"bundle: token {named[2]} on {named[1]} chain {named[0]}" if not same
                            else f"token {token_id} on {address}, chain {chain.chain_id}"))
    try:
        view: PledgeView = read_pledge(chain, token_id)
    except NotFoundError as e:
        return CollateralReport(token_id, [*checks, Check("pledge", False, str(e))])
    holds = view.status in ("live", "defaulted")
    checks.append(Check("pledge holds its lien", holds, f"status {view.status}, holder {view.holder or '-'}"))
    t = view.terms
    root, anchored_at = chain.call(chain.registry.functions.rootAt(t.log_id, t.checkpoint_size).call)
    anchored_root = bytes(root) if anchored_at else None
    block_hash = chain.block_hash(view.issue_block)
    terms = PledgeTerms(token_id=token_id, log_id=t.log_id, start=t.start, end=t.end,
                        checkpoint_size=t.checkpoint_size, asset_digest=t.asset_digest, samples=t.samples,
                        issue_block=view.issue_block)
    report = verify_collateral(bundle, terms=terms, anchored_root=anchored_root, issue_block_hash=block_hash)
    return CollateralReport(token_id, checks + report.checks)
