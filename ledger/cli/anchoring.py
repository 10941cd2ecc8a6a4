"""``dpl anchor`` (checkpoints to the chain, crash-safe) and ``dpl audit`` (every anchor and
record against the chain)."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Optional

import typer

from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, one_line, print_json, progress


def anchor(log: Annotated[Optional[str], typer.Option("--log", help="Only this log (default: all).")] = None,
           every: Annotated[Optional[float], typer.Option("--every", help="Keep going: anchor every SECONDS.")] = None,
           rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Sign and anchor each log's newest checkpoint, with its consistency proof (crash-safe).

    With --every, a node or database that is down is said on stderr and retried next round
    (like the service's loop); Ctrl-C stops it."""
    try:
        _anchor_rounds(log, every, rpc, json)
    except KeyboardInterrupt:  # Ctrl-C: a run in flight is safe to redo (crash-safe anchoring)
        typer.echo("stopped (Ctrl-C)", err=True)
        raise typer.Exit(130) from None


def _anchor_rounds(log: str | None, every: float | None, rpc: str | None, json: bool) -> None:
    from ledger.service.anchoring import anchor_once, anchor_round

    ctx = context().use_rpc(rpc)
    if every is None:  # once: an error is the command's error
        _print_anchor_reports(anchor_once(ctx, log), json)
        return
    while True:  # like the service's loop: a failed round is said on stderr and retried
        done = anchor_round(ctx, log)
        if done.busy:
            typer.echo("another process (the service or a dpl anchor) is anchoring: skipping this round", err=True)
        elif done.error is not None:
            typer.echo(f"anchoring failed: {one_line(done.error)}; retrying in {every:g} s", err=True)
        else:
            _print_anchor_reports(done.reports, json)
        time.sleep(every)


def _print_anchor_reports(reports, json: bool) -> None:
    if json:
        print_json([r.__dict__ for r in reports])
        return
    for r in reports:
        where = f" in block {r.block_number}" if r.block_number is not None else ""
        tx = f" tx {r.tx_hash}" if r.tx_hash else ""
        typer.echo(f"{r.stream} size {r.size}: {r.state}{where}{tx}" + (f" ({r.note})" if r.note else ""))
    sys.stdout.flush()


def audit(rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Check every anchor and every stored record against the chain; exit 1 on any finding.
    The report is kept: the auditor's page shows the latest, whoever ran it."""
    from ledger.service.audits import Audits

    audits = Audits(context().use_rpc(rpc))
    with progress(audits.total_records(), sys.stderr.isatty() and not json, unit="records") as (on_done, _):
        report = audits.run(on_record=on_done)
    if json:
        print_json(report)
    else:
        typer.echo(f"audited {report['logs']} log(s), {report['records']} record(s), {report['anchor_events']} anchor "
                   f"event(s), {report['pledges']} pledge(s) on chain {report['chain_id']}, registry {report['registry']}")
        for finding in report["findings"]:
            typer.echo(f"FINDING: {finding}")
        typer.echo("clean" if report["clean"] else f"{len(report['findings'])} finding(s)")
    if not report["clean"]:
        raise typer.Exit(1)
