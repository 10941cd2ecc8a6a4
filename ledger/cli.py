"""``dpl``: the command line of data-pledge-ledger.

Every command honours ``DPL_HOME`` (default ``.dpl``), ``DPL_DATA_KEY`` and
``DATABASE_URL``. Errors print one line to stderr and exit 1; ``dpl verify`` exits 1
when a bundle does not verify.
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from sqlalchemy.exc import SQLAlchemyError

from ledger import bundles
from ledger.errors import BundleError, LedgerError
from ledger.settings import Settings
from ledger.sources import FORMATS, READERS, detect_format

app = typer.Typer(
    help="Verifiable production logs: ingest records, prove them, verify proofs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log_app = typer.Typer(help="Create and inspect logs (one per data stream).", no_args_is_help=True)
app.add_typer(log_app, name="log")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LogOption = Annotated[str, typer.Option("--log", help="Stream name of the log, e.g. line-a/telemetry.")]


def _store():
    from ledger.store.logstore import LogStore

    return LogStore.open(Settings())


def _print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _log_json(info) -> dict:
    return {
        "stream": info.stream,
        "log_id": bundles.to_hex(info.log_id) if info.log_id else None,
        "size": info.size,
        "root": bundles.to_hex(info.root),
    }


# --- logs -----------------------------------------------------------------------------


@log_app.command("create")
def log_create(stream: Annotated[str, typer.Argument(help="Stream name, e.g. line-a/telemetry.")],
               json: JsonFlag = False) -> None:
    """Create an empty log for STREAM."""
    info = _store().create_log(stream)
    if json:
        _print_json(_log_json(info))
    else:
        typer.echo(f"created log {info.stream} (size 0)")


@log_app.command("show")
def log_show(stream: str, json: JsonFlag = False) -> None:
    """Show a log's id, size and root."""
    info = _store().get_log(stream)
    if json:
        _print_json(_log_json(info))
    else:
        d = _log_json(info)
        typer.echo(f"stream  {d['stream']}\nlog id  {d['log_id'] or '(not bound on chain yet)'}\n"
                   f"size    {d['size']}\nroot    {d['root']}")


@log_app.command("list")
def log_list(json: JsonFlag = False) -> None:
    """List every log."""
    logs = [_log_json(i) for i in _store().list_logs()]
    if json:
        _print_json(logs)
    elif not logs:
        typer.echo("no logs yet (create one with: dpl log create STREAM)")
    else:
        for d in logs:
            typer.echo(f"{d['stream']}\tsize {d['size']}\troot {d['root']}")


# --- ingest ---------------------------------------------------------------------------


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


@contextmanager
def _progress(total_bytes: int | None, enabled: bool):
    """A byte-based progress bar on a terminal; a no-op callback elsewhere."""
    if not enabled:
        yield (lambda n: None), (lambda n: None)
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    columns = [TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TextColumn("{task.fields[records]} records"), TimeRemainingColumn()]
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("ingest", total=total_bytes, records=0)
        yield (lambda n: bar.advance(task, n)), (lambda n: bar.update(task, records=n))


@app.command()
def ingest(
    file: Annotated[str, typer.Argument(help="A .jsonl or .csv file, or - for stdin (JSONL).")],
    log: LogOption,
    fmt: Annotated[Optional[str], typer.Option("--format", help="jsonl or csv (default: from the file name).")] = None,
    json: JsonFlag = False,
) -> None:
    """Append records from FILE to a log, all or nothing, idempotent by record id."""
    fmt = fmt or detect_format(file)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    store = _store()
    store.get_log(log)  # fail fast on an unknown log, before reading the input
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

    with source, few_gc_pauses(), _progress(total, sys.stderr.isatty() and not json) as (on_bytes, on_records):
        result = store.append(log, READERS[fmt](source, on_bytes),
                              on_duplicate=on_duplicate, on_progress=on_records)
    if json:
        _print_json({"appended": result.appended, "duplicates": result.duplicates,
                     "size": result.size, "root": bundles.to_hex(result.root)})
        return
    for line in shown:
        typer.echo(line, err=True)
    if result.duplicates > len(shown):
        typer.echo(f"... and {result.duplicates - len(shown)} more already stored", err=True)
    typer.echo(f"appended {result.appended}, already stored {result.duplicates}; "
               f"{log} is now size {result.size}, root {bundles.to_hex(result.root)}")


# --- proofs -----------------------------------------------------------------------------


def _write_output(document: dict, out: str | None) -> None:
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = Path(out + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)  # never leave a half-written bundle behind
    except OSError as e:
        raise LedgerError(f"cannot write {out}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    typer.echo(f"wrote {out}", err=True)


@app.command()
def prove(
    log: LogOption,
    index: Annotated[Optional[int], typer.Option("--index", help="Index of the record.")] = None,
    record_id: Annotated[Optional[str], typer.Option("--id", help="Id of the record.")] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Prove against this earlier size (default: current).")] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle here (default: stdout).")] = None,
) -> None:
    """Write a dpl-proof/1 bundle: the record, its salt and its inclusion proof."""
    if (index is None) == (record_id is None):
        raise typer.BadParameter("give exactly one of --index or --id")
    store = _store()
    if record_id is not None:
        index = store.index_of(log, record_id)
    info = store.get_log(log)
    proof = store.inclusion_proof(log, index, size)
    stored = store.record_at(log, index)
    entry = bundles.make_entry(index, stored.record, stored.salt, stored.leaf_hash, proof.proof)
    _write_output(bundles.make_proof_bundle(info.stream, info.log_id, proof.size, proof.root, [entry]), out)


@app.command()
def consistency(
    log: LogOption,
    old: Annotated[int, typer.Option("--from", help="The earlier size.")],
    new: Annotated[Optional[int], typer.Option("--to", help="The later size (default: current).")] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle to a file.")] = None,
    json: JsonFlag = False,
) -> None:
    """Prove that the log at --to extends the log at --from (a dpl-consistency/1 bundle)."""
    store = _store()
    info = store.get_log(log)
    p = store.consistency_proof(log, old, new)
    doc = bundles.make_consistency_bundle(info.stream, info.log_id, p.old_size, p.old_root,
                                          p.new_size, p.new_root, p.proof)
    if json or out:
        _write_output(doc, out)
    else:
        typer.echo(f"{log}: size {p.new_size} (root {doc['new']['root']}) extends size "
                   f"{p.old_size} (root {doc['old']['root']}); proof of {len(p.proof)} hashes:")
        for h in doc["proof"]:
            typer.echo(f"  {h}")


@app.command()
def verify(bundle: Annotated[str, typer.Argument(help="A dpl-proof/1 or dpl-consistency/1 file, or -.")]) -> None:
    """Verify a bundle offline: exit 0 and one line when valid, exit 1 with the reason when not."""
    try:
        raw = sys.stdin.buffer.read() if bundle == "-" else Path(bundle).read_bytes()
    except OSError as e:
        raise LedgerError(f"cannot read {bundle}: {e.strerror}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise BundleError(f"{bundle} is not JSON: {e}") from None
    result = bundles.verify(document)
    typer.echo(f"valid: {result.summary}")


def main() -> None:
    try:
        app()
    except BundleError as e:
        typer.echo(f"invalid: {e}", err=True)
        sys.exit(1)
    except LedgerError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except SQLAlchemyError as e:  # a database that is down, locked too long, or refused us
        reason = getattr(e, "orig", None) or e
        typer.echo(f"error: database: {str(reason).splitlines()[0]}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
