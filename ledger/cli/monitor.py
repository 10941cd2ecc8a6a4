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


@monitor_app.command("recheck")
def monitor_recheck(
    warning_id: Annotated[Optional[int], typer.Argument(
        help="The warning's id in this service's store (dpl monitor warnings); or give --warning.", min=1,
        max=2**63 - 1)] = None,
    warning: Annotated[Optional[str], typer.Option(
        "--warning", help="A warning's JSON file (as dpl monitor warnings --json, the API or a webhook gave it).")] = None,
    disclosure: Annotated[str, typer.Option("--disclosure", help="The factory's dpl-disclosure/1 of the window.")] = "",
    consent: Annotated[str, typer.Option(
        "--consent", help="The consent document the pledge was issued from (its covenants and pledged profile).")] = "",
    rpc: Annotated[Optional[str], typer.Option(
        "--rpc", help="Also check the disclosure's checkpoint against the chain at this JSON-RPC URL.")] = None,
    registry: Annotated[Optional[str], typer.Option(
        "--registry", help="With --rpc: the registry address to trust (default: the deployment record pinned "
                           "for the chain; never an address the files name).")] = None,
    factory: Annotated[Optional[str], typer.Option("--factory", help="With --rpc: the factory address you expect.")] = None,
    json: JsonFlag = False,
) -> None:
    """(Lender) Re-check a warning's evidence: recompute its figure from a disclosure of its window
    with the monitor's rules (docs/COVENANTS.md, "Re-checking a warning"). Exit 0 when the
    warning stands, 1 otherwise."""
    from ledger.cli.common import read_json
    from ledger.service.evidence import pledge_covenants, recheck

    if (warning_id is None) == (warning is None):
        raise InvalidArgumentError("give a WARNING_ID or --warning FILE (one of them)")
    if not disclosure or not consent:
        raise InvalidArgumentError(f"{'--disclosure' if not disclosure else '--consent'} FILE is required")
    if (registry or factory) and not rpc:
        raise InvalidArgumentError(f"{'--registry' if registry else '--factory'} is for checks against the chain: "
                                   "give --rpc too")
    covenants, profile = pledge_covenants(read_json(consent, "consent document"))
    if warning is not None:
        found = read_json(warning, "warning")
        if type(found) is list:  # dpl monitor warnings --json writes a list
            raise InvalidArgumentError(f"{warning} holds a list of {len(found)} warning(s): give one warning's "
                                       "JSON object, or its WARNING_ID")
    else:
        from ledger.service.monitor import Monitor

        found = next((w for w in Monitor(context()).warnings() if w["id"] == warning_id), None)
        if found is None:
            raise InvalidArgumentError(f"no warning #{warning_id} in this service's store")
    verdict = recheck(found, read_json(disclosure, "disclosure"), covenants=covenants, pledged_profile=profile,
                      rpc_url=rpc, home=context().settings.home, registry=registry, factory=factory)
    if json:
        print_json(verdict.as_json() | {"chain_checked": rpc is not None})
    else:
        for check in verdict.checks:
            say(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if rpc is None and verdict.stands:
            say("note  anchor: not checked (offline); give --rpc to check the root against the chain")
        say(f"warning {'STANDS' if verdict.stands else 'DOES NOT STAND'}")
    if not verdict.stands:
        raise typer.Exit(1)
