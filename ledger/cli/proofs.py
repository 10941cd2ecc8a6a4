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
    from ledger.service.proofs import Proofs

    proofs = Proofs(context().store)
    doc = (proofs.record_bundle(log, index, size) if record_id is None
           else proofs.record_bundle_by_id(log, record_id, size))
    write_output(doc, out)


def consistency(
    log: LogOption,
    old: Annotated[int, typer.Option("--from", help="The earlier size.", min=1, max=MAX_INDEX)],
    new: Annotated[Optional[int], typer.Option("--to", help="The later size (default: current).", min=1, max=MAX_INDEX)] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle to a file.")] = None,
    json: JsonFlag = False,
) -> None:
    """Prove that the log at --to extends the log at --from (a dpl-consistency/1 bundle)."""
    from ledger.service.proofs import Proofs

    doc = Proofs(context().store).consistency_bundle(log, old, new)
    if json or out:
        write_output(doc, out)
    else:
        typer.echo(f"{log}: size {doc['new']['size']} (root {doc['new']['root']}) extends size "
                   f"{doc['old']['size']} (root {doc['old']['root']}); proof of {len(doc['proof'])} hashes:")
        for h in doc["proof"]:
            typer.echo(f"  {h}")


def verify(bundle: Annotated[Optional[str], typer.Argument(
               help="A dpl-proof/1 or dpl-consistency/1 file, or -. Optional with --tiles.")] = None,
           rpc: Annotated[Optional[str], typer.Option(
               "--rpc", help="Also check the bundle against the chain at this JSON-RPC URL.")] = None,
           registry: Annotated[Optional[str], typer.Option(
               "--registry", help="With --rpc: the registry address to trust (default: the deployment record "
                                  "pinned for the chain; never the address the bundle names).")] = None,
           factory: Annotated[Optional[str], typer.Option(
               "--factory", help="With --rpc: the factory address you expect; a log of any other factory "
                                 "does not verify.")] = None,
           tiles: Annotated[Optional[str], typer.Option(
               "--tiles", help="Check against the log's published checkpoint and tiles at this URL (dpl publish; "
                               "docs/TILES.md), with no call to the service.")] = None,
           vkey: Annotated[Optional[str], typer.Option(
               "--vkey", help="With --tiles: the log's note verifier key (or a file holding it); the checkpoint "
                              "must be signed by it.")] = None,
           index: Annotated[Optional[int], typer.Option(
               "--index", help="With --tiles: prove the leaf at this index from the tiles.", min=0, max=MAX_INDEX)] = None,
           old: Annotated[Optional[int], typer.Option(
               "--from", help="With --tiles: prove that the log at this size is a prefix of the published one.",
               min=1, max=MAX_INDEX)] = None) -> None:
    """Verify a bundle: exit 0 and what was proven when valid, exit 1 with the reason when not.

    Offline by default (math only); with --rpc also against the chain: the registry this
    verifier trusts holds the bundle's root, the log is the named factory's stream (the factory
    you expect, with --factory), and the anchor transaction the bundle cites is real. With
    --tiles, against the log's published checkpoint and tiles: every proof built from them."""
    if tiles is not None:
        return _verify_tiles(tiles, bundle, vkey, index, old, rpc, registry, factory)
    if vkey is not None or index is not None or old is not None:
        raise typer.BadParameter("--vkey, --index and --from are for checks against published tiles: give --tiles too")
    if bundle is None:
        raise typer.BadParameter("give a bundle to verify (or --tiles URL)")
    result = bundles.verify(_load_bundle(bundle))
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


def _load_bundle(bundle: str) -> dict:
    from ledger import jsonio

    try:  # size-capped, depth-checked before any parser recurses, duplicate keys refused
        return jsonio.load_file(bundle, what="bundle")
    except jsonio.JsonInputError as e:
        raise BundleError(f"{bundle} is not JSON: {e.reason}" + (f" (at {e.path})" if e.path else "")) from None


def _verify_tiles(url: str, bundle: str | None, vkey: str | None, index: int | None, old: int | None,
                  rpc: str | None, registry: str | None, factory: str | None) -> None:
    """``dpl verify --tiles URL``: the checkpoint (signed by --vkey, and/or anchored on chain with
    --rpc), the tiles hash to its root, and each proof asked for built from them and checked."""
    from ledger import merkle, tlog
    from ledger.cli.tiles import open_published, read_vkey

    if vkey is None and rpc is None:
        raise typer.BadParameter("--tiles needs --vkey (the log's note key) or --rpc (the chain), or both: "
                                 "nothing else vouches for what a web server serves")
    if (registry or factory) and not rpc:
        raise typer.BadParameter(f"{'--registry' if registry else '--factory'} is for checks against the chain: "
                                 "give --rpc too")
    document = _load_bundle(bundle) if bundle is not None else None
    result = bundles.verify(document) if document is not None else None
    pub = open_published(url, read_vkey(vkey) if vkey is not None else None)
    cp, reader = pub.checkpoint, pub.reader
    lines = [f"checkpoint: log 0x{pub.log_id.hex()} on chain {pub.chain_id} at size {cp.size}, root 0x{cp.root.hex()}, "
             + (f"signed by {pub.signed_by}" if pub.signed_by else "signature not checked (no --vkey)"),
             f"tiles: they hash to the checkpoint's root ({len(reader.fetched)} fetched)"]
    if document is not None:
        lines += tlog.check_bundle(document, pub.log_id, result.size, result.root, reader)
    if index is not None:
        if index >= cp.size:
            raise BundleError(f"--index {index} is beyond the published checkpoint (size {cp.size})")
        leaf, root, proof = reader.inclusion(index)
        _checked(merkle.verify_inclusion, leaf, index, cp.size, proof, root)
        lines.append(f"leaf {index}: 0x{leaf.hex()} is included at size {cp.size}; proof of {len(proof)} hashes:")
        lines += [f"  0x{h.hex()}" for h in proof]
    if old is not None:
        if old > cp.size:
            raise BundleError(f"--from {old} is beyond the published checkpoint (size {cp.size})")
        old_root, new_root, proof = reader.consistency(old)
        _checked(merkle.verify_consistency, old, cp.size, proof, old_root, new_root)
        lines.append(f"consistency: size {old} (root 0x{old_root.hex()}) is a prefix of size {cp.size}; "
                     f"proof of {len(proof)} hashes:")
        lines += [f"  0x{h.hex()}" for h in proof]
    if rpc:
        from ledger.chain.check import checkpoint_checks, expected_factory
        from ledger.chain.client import Chain
        from ledger.chain.deploy import trusted_registry

        expected = expected_factory(factory)
        chain = Chain(rpc)
        if chain.chain_id != pub.chain_id:
            raise BundleError(f"{chain.shown_url} is chain {chain.chain_id}, but the published log is on chain "
                              f"{pub.chain_id}")
        trusted = trusted_registry(chain.chain_id, context().settings.home, registry)
        checks = checkpoint_checks(chain, trusted, pub.log_id, cp.size, cp.root,
                                   result.stream if result is not None else None, expected)
        failed = [c for c in checks if not c.ok]
        if failed:
            raise BundleError(failed[0].detail)
        lines += [f"{c.name}: {c.detail}" for c in checks]
    say(f"valid: the published log at {url}" + (f" and {result.summary}" if result is not None else ""))
    for line in lines:
        say(f"  {line}")


def _checked(verify, *args) -> None:
    """A proof built from tiles, verified (it always is once the tiles passed their checks)."""
    from ledger.errors import ProofError

    try:
        verify(*args)
    except ProofError as e:
        raise BundleError(f"the proof built from the tiles does not verify: {e}") from None
