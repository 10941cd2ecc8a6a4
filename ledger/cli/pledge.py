"""``dpl pledge``: pledges of data assets to lenders (ERC-721 tokens on the registry).

Factory side (``pledge_factory.py``): ``consent``, ``extension``, ``bundle``. Lender side
(``pledge_lender.py``): ``issue|transfer|release|default|extend|verify``. Anyone (here):
``show|list|sync``. A refusal by the contract prints its error name and meaning and exits 1;
nothing is sent (the gas estimate fails first).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.common import Token
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, print_json
from ledger.cli.pledge_factory import pledge_bundle, pledge_consent, pledge_extension
from ledger.cli.pledge_lender import (pledge_default, pledge_extend, pledge_issue, pledge_release, pledge_transfer,
                                     pledge_verify)

def _pledges(rpc: str | None):
    """The pledge use cases on the node at ``rpc``, imported when a command needs them."""
    from ledger.pledge.service import Pledges

    return Pledges(context().use_rpc(rpc))


pledge_app = typer.Typer(help="Pledges of data assets to lenders (ERC-721 tokens on the registry).",
                         no_args_is_help=True)
for name, command in (("consent", pledge_consent), ("extension", pledge_extension), ("issue", pledge_issue),
                      ("transfer", pledge_transfer), ("release", pledge_release), ("default", pledge_default),
                      ("extend", pledge_extend)):
    pledge_app.command(name)(command)


def pledge_show(token: Token, rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Show a pledge as the chain has it now: status, holder, range and terms."""
    view = _pledges(rpc).show(token).as_json()
    if json:
        print_json(view)
        return
    t = view["terms"]
    typer.echo(f"pledge {token}: {view['status']}\nholder      {view['holder'] or '(none: released)'}\n"
               f"factory     {view['factory']}\nlog         {view['log_id']}\nrange       [{view['from']}, {view['to']}) "
               f"of checkpoint {t['checkpoint_size']}\nasset       {view['asset_digest']}\n"
               f"principal   {t['principal']} {t['currency']} (minor units)\nmaturity    {t['maturity_utc']}\n"
               f"lien end    {t['lien_end_utc']}\nmax lien end {t['max_lien_end_utc']} (later only with the factory's "
               f"signed extension)\nsamples     {t['samples']}\ncovenants   "
               f"{t['covenants_digest'] if int(t['covenants_digest'], 16) else '(none)'}\n"
               f"issued in   block {view['issue_block']}")


def pledge_list(log: Annotated[Optional[str], typer.Option("--log", help="Only pledges over this log (stream name or 0x log id).")] = None,
                rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """List pledges (from the local mirror, synced from the chain first)."""
    pledges = _pledges(rpc)
    out = pledges.list(log_id=pledges.log_id_of(log) if log else None)
    if json:
        print_json(out)
    elif not out:
        typer.echo("no pledges")
    else:
        for p in out:
            typer.echo(f"{p['token_id']}\t{p['status']}\t[{p['from']}, {p['to']})\t{p['principal']} {p['currency']}\t"
                       f"holder {p['holder'] or '-'}")


def pledge_sync(full: Annotated[bool, typer.Option("--full/--incremental", help="Rebuild from the deployment block (default) or read only new blocks.")] = True,
                rpc: RpcOption = None) -> None:
    """Rebuild the local pledge mirror from the registry's events (the chain is the truth)."""
    report = _pledges(rpc).sync(full=full)
    verb = "rebuilt from the chain" if report.rebuilt else "updated"
    typer.echo(f"pledge mirror {verb}: {report.events} event(s), up to block {report.block_number}")


pledge_app.command("show")(pledge_show)
pledge_app.command("list")(pledge_list)
pledge_app.command("sync")(pledge_sync)
pledge_app.command("bundle")(pledge_bundle)
pledge_app.command("verify")(pledge_verify)
