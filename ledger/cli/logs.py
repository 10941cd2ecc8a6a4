"""``dpl log create|show|list`` and ``dpl ingest``: logs and the records appended to them."""

from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger import bundles
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, LogOption, print_json, progress
from ledger.errors import LedgerError
from ledger.sources import FORMATS, detect_format

log_app = typer.Typer(help="Create and inspect logs (one per data stream).", no_args_is_help=True)


def _logs():
    """The logs use cases, imported when a command needs them (the store's modules cost ~0.2 s
    to import: ``dpl verify`` and ``--help`` never pay it)."""
    from ledger.service.logs import Logs

    return Logs(context())


def _log_json(info) -> dict:
    return {
        "stream": info.stream,
        "log_id": bundles.to_hex(info.log_id) if info.log_id else None,
        "size": info.size,
        "root": bundles.to_hex(info.root),
        "format": info.record_format,
    }


@log_app.command("create")
def log_create(stream: Annotated[str, typer.Argument(help="Stream name, e.g. line-a/telemetry.")],
               factory: Annotated[Optional[str], typer.Option(
                   "--factory", help="Key (from dpl keys) of the factory that owns the log; "
                                     "default: bound at its first anchor to DPL_FACTORY_KEY.")] = None,
               record_format: Annotated[str, typer.Option(
                   "--format", help="Record format, for good: dpl-record/1, or dpl-record/2 (each field "
                                    "committed apart, so records can be shown with fields hidden).")] = "dpl-record/1",
               json: JsonFlag = False) -> None:
    """Create an empty log for STREAM."""
    info = _logs().create_with_key(stream, factory, record_format)
    if json:
        print_json(_log_json(info))
    else:
        typer.echo(f"created log {info.stream} (size 0, {info.record_format})")


@log_app.command("show")
def log_show(stream: str, json: JsonFlag = False) -> None:
    """Show a log's id, size and root."""
    info = _logs().view(stream)
    if json:
        print_json(_log_json(info))
    else:
        d = _log_json(info)
        typer.echo(f"stream  {d['stream']}\nlog id  {d['log_id'] or '(not bound on chain yet)'}\n"
                   f"size    {d['size']}\nroot    {d['root']}\nformat  {d['format']}")


@log_app.command("list")
def log_list(json: JsonFlag = False) -> None:
    """List every log."""
    logs = [_log_json(i) for i in _logs().visible_to(None)]
    if json:
        print_json(logs)
    elif not logs:
        typer.echo("no logs yet (create one with: dpl log create STREAM)")
    else:
        for d in logs:
            typer.echo(f"{d['stream']}\tsize {d['size']}\troot {d['root']}\t{d['format']}")


@log_app.command("checkpoints")
def log_checkpoints(stream: str, json: JsonFlag = False) -> None:
    """List a log's checkpoints with the state of their anchors (as the API's checkpoints do)."""
    logs = _logs()
    checkpoints = logs.checkpoints(logs.get(stream))
    if json:
        print_json([cp.as_json() for cp in checkpoints])
        return
    if not checkpoints:
        typer.echo(f"{stream} has no checkpoint yet (one is made by each ingest that appends)")
    for cp in checkpoints:
        a = cp.anchor
        anchored = ("not anchored" if a is None else f"{a.state}" + (f" in block {a.block_number}" if a.block_number
                                                                      is not None else "")
                    + f" on chain {a.chain_id} tx {bundles.to_hex(a.tx_hash)}")
        typer.echo(f"size {cp.size}\troot {bundles.to_hex(cp.root)}\t{anchored}")


@contextmanager
def few_gc_pauses():
    """Collect cycles rarely during a bulk ingest: parsed records hold no cycles, and the
    collector otherwise rescans the batch's short-lived objects (about 7% of ingest time)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def ingest(
    file: Annotated[str, typer.Argument(help="A .jsonl or .csv file, or - for stdin (JSONL).")],
    log: LogOption,
    fmt: Annotated[Optional[str], typer.Option("--format", help="jsonl or csv (default: from the file name).")] = None,
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", min=1, help="Worker processes that prepare and seal records (default: every core; "
                              "a file of up to 2,000 records uses none).")] = None,
    json: JsonFlag = False,
) -> None:
    """Append records from FILE to a log, all or nothing, idempotent by record id."""
    fmt = fmt or detect_format(file)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    logs = _logs()
    logs.get(log)  # fail fast on an unknown log, before reading the input
    if file == "-":
        source, total = sys.stdin.buffer, None
    else:
        path = Path(file)
        try:
            source, total = path.open("rb"), path.stat().st_size
        except OSError as e:
            raise LedgerError(f"cannot read {file}: {e.strerror}") from None
    shown = []

    def on_duplicate(position: int, record_id: str, index: int) -> None:
        if len(shown) < 5:
            shown.append(f"record {position} (id {record_id!r}) is already at index {index}")

    with source, few_gc_pauses(), progress(total, sys.stderr.isatty() and not json) as (on_bytes, on_records):
        result = logs.ingest_file(log, source, fmt, jobs=jobs or os.cpu_count() or 1, on_bytes=on_bytes,
                                  on_duplicate=on_duplicate, on_progress=on_records)
    if json:
        print_json({"appended": result.appended, "duplicates": result.duplicates,
                     "size": result.size, "root": bundles.to_hex(result.root)})
        return
    for line in shown:
        typer.echo(line, err=True)
    if result.duplicates > len(shown):
        typer.echo(f"... and {result.duplicates - len(shown)} more already stored", err=True)
    typer.echo(f"appended {result.appended}, already stored {result.duplicates}; "
               f"{log} is now size {result.size}, root {bundles.to_hex(result.root)}")
