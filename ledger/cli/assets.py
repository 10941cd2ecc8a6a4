"""``dpl asset create``: a range of an anchored log described by its manifest."""

from __future__ import annotations

from typing import Annotated, Optional

import orjson
import typer

from ledger.bundles import to_hex
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, print_json
from ledger.limits import MAX_INDEX

asset_app = typer.Typer(help="Data assets: ranges of an anchored log, described by a manifest.",
                        no_args_is_help=True)


@asset_app.command("create")
def asset_create(
    log: Annotated[str, typer.Option("--log", help="Stream name of the log.")],
    start: Annotated[int, typer.Option("--from", help="First record index (inclusive).", min=0, max=MAX_INDEX)],
    end: Annotated[int, typer.Option("--to", help="End of the range (exclusive).", min=1, max=MAX_INDEX)],
    checkpoint: Annotated[Optional[int], typer.Option(
        "--checkpoint", help="Size of the anchored checkpoint that commits the range (default: the newest).", min=1, max=MAX_INDEX)] = None,
    rpc: RpcOption = None, json: JsonFlag = False,
) -> None:
    """Print the manifest of records [FROM, TO) of a log and its SHA-256 (the asset digest)."""
    from ledger.pledge.service import Pledges

    asset = Pledges(context().use_rpc(rpc)).asset(log, start, end, checkpoint)
    if json:
        print_json(asset.as_json())
        return
    typer.echo(orjson.dumps(asset.manifest, option=orjson.OPT_INDENT_2).decode())
    typer.echo(f"asset digest {to_hex(asset.digest)}")
