"""``dpl monitor [--once | --every SECONDS]``, ``dpl monitor warnings`` and ``dpl monitor ack``:
judge the covenants of live and defaulted pledges, list their warnings, acknowledge one as the
holder (``ledger.service.monitor``, ``docs/COVENANTS.md`` §7)."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer
from sqlalchemy.exc import SQLAlchemyError

from ledger.cli.common import key_option
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, one_line, print_json, say
from ledger.errors import InvalidArgumentError, LedgerError

monitor_app = typer.Typer(help="Post-loan monitoring: judge the pledges' covenants at each new anchored "
                               "checkpoint (default: once), list and acknowledge warnings.")


def _run(rpc: str | None) -> None:
    from ledger.service.monitor import Monitor, webhook_hook

    ctx = context().use_rpc(rpc)
    report = Monitor(ctx, on_event=webhook_hook(ctx)).run_once()
    for token_id, key in report.raised:
        say(f"pledge {token_id}: warning {key} raised")
    for token_id, key in report.resolved:
        say(f"pledge {token_id}: warning {key} resolved")
    for token_id, reason in report.refused:
        say(f"pledge {token_id}: not judged: {reason}", err=True)
    for error in report.errors:
        say(f"error: {error}", err=True)
    say(f"judged {report.judged} pledge(s) at a new checkpoint, {report.cadence_only} for the anchoring cadence "
        f"alone: {len(report.raised)} raised, {len(report.resolved)} resolved", err=True)


@monitor_app.callback(invoke_without_command=True)
def monitor(
    typer_ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Judge once and exit (the default).")] = False,
    every: Annotated[Optional[float], typer.Option(
        "--every", help="Judge every SECONDS until interrupted.", min=1)] = None,
    rpc: RpcOption = None,
) -> None:
    """Judge the covenants of every live or defaulted pledge at its log's newest anchored
    checkpoint (the anchoring cadence by the chain's clock on every run); new warnings and
    resolutions are kept once each, and told to the parties' webhooks."""
    if typer_ctx.invoked_subcommand is not None:
        return
    if once and every is not None:
        raise InvalidArgumentError("--once or --every, not both")
    if every is None:
        _run(rpc)
        return
    while True:  # a node or database that is down costs a round, not the loop (as dpl anchor --every)
        try:
            _run(rpc)
        except (LedgerError, SQLAlchemyError) as e:
            say(f"error: {one_line(e)} (trying again in {every:g} s)", err=True)
        time.sleep(every)


@monitor_app.command("warnings")
def monitor_warnings(
    token: Annotated[Optional[int], typer.Option("--token", help="Only this pledge's warnings.", min=1,
                                                 max=2**64 - 1)] = None,
    json: JsonFlag = False,
    rpc: RpcOption = None,
) -> None:
    """The warnings kept (all pledges, or one): text, or a JSON list as in DESIGN.md §9."""
    from ledger.service.monitor import Monitor

    found = Monitor(context().use_rpc(rpc)).warnings(token_id=token)
    if json:
        print_json(found)
        return
    for w in found:
        week = f" {w['week']}" if w["week"] else ""
        say(f"#{w['id']} pledge {w['token_id']} {w['code']}{week} [{w['window']['from']}, {w['window']['to']}) "
            f"{w['state']}: {w['message']}")
    if not found:
        say("no warnings", err=True)


@monitor_app.command("ack")
def monitor_ack(
    warning_id: Annotated[int, typer.Argument(help="The warning's id (dpl monitor warnings).", min=1,
                                              max=2**63 - 1)],
    key: key_option(None, "pledge's holder (a lender)") = None,
    rpc: RpcOption = None,
) -> None:
    """(Holder) Acknowledge an open warning of a pledge you hold."""
    from ledger.service.monitor import Monitor

    if not key:
        raise InvalidArgumentError("--key: the holder's key (dpl keys) acknowledges")
    ctx = context().use_rpc(rpc)
    holder = ctx.keyring.account(key, ctx.chain().chain_id).address  # opening the key proves its custody
    w = Monitor(ctx).acknowledge(warning_id, holder)
    say(f"warning #{w['id']} of pledge {w['token_id']} ({w['code']}) is {w['state']}")
