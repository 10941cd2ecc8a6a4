"""``dpl prove``, ``dpl consistency`` and ``dpl verify``: bundles out, bundles checked."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger import bundles
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, LogOption, say, write_output
from ledger.errors import BundleError
from ledger.limits import MAX_INDEX


def prove(
    log: LogOption,
    index: Annotated[Optional[int], typer.Option("--index", help="Index of the record.", min=0, max=MAX_INDEX)] = None,
    record_id: Annotated[Optional[str], typer.Option("--id", help="Id of the record.")] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Prove against this earlier size (default: current).", min=1, max=MAX_INDEX)] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle here (default: stdout).")] = None,
) -> None:
    """Write a dpl-proof/1 bundle: the record, its salt and its inclusion proof."""
    if (index is None) == (record_id is None):
        raise typer.BadParameter("give exactly one of --index or --id")
    store = context().store
    if record_id is not None:
        index = store.index_of(log, record_id)
    info = store.get_log(log)
    anchor_row = _anchored_checkpoint(store, info, index, size)
    if size is None and anchor_row is not None:
        size = anchor_row.size  # prove against what the chain holds, when it holds one
    proof = store.inclusion_proof(log, index, size)
    stored = store.record_at(log, index)
    entry = bundles.make_entry(index, stored.record, stored.salt, stored.leaf_hash, proof.proof)
    anchor_doc = None
    if anchor_row is not None and anchor_row.size == proof.size:
        anchor_doc = bundles.make_anchor(anchor_row.chain_id, anchor_row.registry, anchor_row.tx_hash,
                                         anchor_row.block_number)
    write_output(bundles.make_proof_bundle(info.stream, info.log_id, proof.size, proof.root, [entry],
                                            anchor_doc), out)


def _anchored_checkpoint(store, info, index: int, size: int | None):
    """The newest included/final anchor of the log covering ``index`` (at ``size`` if given)."""
    from ledger.store.anchors import AnchorStore

    return AnchorStore(store.engine).newest_anchored(info.pk, above=index, size=size)


def consistency(
    log: LogOption,
    old: Annotated[int, typer.Option("--from", help="The earlier size.", min=1, max=MAX_INDEX)],
    new: Annotated[Optional[int], typer.Option("--to", help="The later size (default: current).", min=1, max=MAX_INDEX)] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle to a file.")] = None,
    json: JsonFlag = False,
) -> None:
    """Prove that the log at --to extends the log at --from (a dpl-consistency/1 bundle)."""
    store = context().store
    info = store.get_log(log)
    p = store.consistency_proof(log, old, new)
    doc = bundles.make_consistency_bundle(info.stream, info.log_id, p.old_size, p.old_root,
                                          p.new_size, p.new_root, p.proof)
    if json or out:
        write_output(doc, out)
    else:
        typer.echo(f"{log}: size {p.new_size} (root {doc['new']['root']}) extends size "
                   f"{p.old_size} (root {doc['old']['root']}); proof of {len(p.proof)} hashes:")
        for h in doc["proof"]:
            typer.echo(f"  {h}")


def verify(bundle: Annotated[str, typer.Argument(help="A dpl-proof/1 or dpl-consistency/1 file, or -.")],
           rpc: Annotated[Optional[str], typer.Option(
               "--rpc", help="Also check the bundle against the chain at this JSON-RPC URL.")] = None,
           registry: Annotated[Optional[str], typer.Option(
               "--registry", help="With --rpc: the registry address to trust (default: the deployment record "
                                  "pinned for the chain; never the address the bundle names).")] = None,
           factory: Annotated[Optional[str], typer.Option(
               "--factory", help="With --rpc: the factory address you expect; a log of any other factory "
                                 "does not verify.")] = None) -> None:
    """Verify a bundle: exit 0 and what was proven when valid, exit 1 with the reason when not.

    Offline by default (math only); with --rpc also against the chain: the registry this
    verifier trusts holds the bundle's root, the log is the named factory's stream (the factory
    you expect, with --factory), and the anchor transaction the bundle cites is real."""
    from ledger import jsonio

    try:  # size-capped, depth-checked before any parser recurses, duplicate keys refused
        document = jsonio.load_file(bundle, what="bundle")
    except jsonio.JsonInputError as e:
        raise BundleError(f"{bundle} is not JSON: {e.reason}" + (f" (at {e.path})" if e.path else "")) from None
    result = bundles.verify(document)
    if rpc:
        from ledger.chain.check import verify_on_chain

        checks = verify_on_chain(result, rpc, context().settings.home, registry, factory)
        say(f"valid: {result.summary}")
        for check in checks:
            say(f"  {check.name}: {check.detail}")
        return
    if registry or factory:
        raise typer.BadParameter(f"{'--registry' if registry else '--factory'} is for checks against the chain: "
                                 "give --rpc too")
    say(f"valid: {result.summary}")
