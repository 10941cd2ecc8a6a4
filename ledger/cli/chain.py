"""``dpl chain up|down`` (the local anvil) and ``dpl deploy`` (our registry on a chain)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, print_json

chain_app = typer.Typer(help="The local chain (anvil), state kept under DPL_HOME/chain.", no_args_is_help=True)


@chain_app.command("up")
def chain_up(port: Annotated[int, typer.Option("--port", help="Port for JSON-RPC.", min=1, max=65535)] = 8545) -> None:
    """Start anvil (state persisted under DPL_HOME/chain); returns when it answers."""
    from ledger.chain import node

    info = node.up(context().settings.home, port=port)
    verb = "started" if info.started else "already running"
    typer.echo(f"chain {verb}: {info.rpc_url} (chain id {info.chain_id}, block {info.block_number})")


@chain_app.command("down")
def chain_down() -> None:
    """Stop the anvil that `dpl chain up` started (it saves its state first)."""
    from ledger.chain import node

    typer.echo("chain stopped" if node.down(context().settings.home) else "no chain started by dpl is running")


def deploy(rpc: RpcOption = None,
           key: Annotated[str, typer.Option("--key", help="Key that deploys and pays (default dev0).")] = "dev0",
           json: JsonFlag = False) -> None:
    """Deploy the registry (a no-op when the recorded address already holds it)."""
    from ledger.service import admin

    done = admin.deploy(context().use_rpc(rpc), key)
    record = done.record
    if json:
        print_json(record | {"new": done.new})
        return
    verb = "deployed" if done.new else "already deployed"
    typer.echo(f"registry {verb} at {record['address']} on chain {record['chain_id']} "
               f"(block {record['block_number']}); record: {done.path}")
