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
