"""What every command prints with: option types, JSON and lines safe on a terminal, files
written whole, a progress bar, an error on one line."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import LedgerError
from ledger.text import shown

RpcOption = Annotated[Optional[str], typer.Option("--rpc", help="JSON-RPC URL (default: DPL_RPC_URL).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LogOption = Annotated[str, typer.Option("--log", help="Stream name of the log, e.g. line-a/telemetry.")]


def print_json(value: object) -> None:
    sys.stdout.write(json_text(value) + "\n")


def json_text(value: object) -> str:
    """``value`` as indented JSON that is safe on a terminal: orjson escapes the C0 controls;
    every other non-printable character (DEL, C1 controls, bidi and zero-width characters,
    line separators: ``ledger.text``) is written as a ``\\uXXXX`` escape too, which JSON
    reads back as the same character. Such characters only occur inside strings."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    if all(line.isprintable() for line in text.split("\n")):
        return text
    return "".join(c if c == "\n" or c.isprintable() else _json_escape(c) for c in text)


def _json_escape(c: str) -> str:
    code = ord(c)
    if code > 0xFFFF:  # a UTF-16 surrogate pair, as JSON writes code points beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def say(line: str, err: bool = False) -> None:
    """Print one line that may hold text from outside (a bundle, the chain, an error naming
    them), escaped so that it cannot move the cursor, erase or reorder what is on the
    terminal (``ledger.text.shown``)."""
    typer.echo(shown(line), err=err)


def write_output(document: dict, out: str | None) -> None:
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with whole_file(out) as f:
        f.write(data)
    typer.echo(f"wrote {out}", err=True)


@contextmanager
def whole_file(out: str, mode: int = 0o666):
    """A file opened for writing that appears at ``out`` only once it is whole: written to
    ``out.tmp`` and renamed; an error (or an exception in the block) leaves nothing behind.
    ``mode``: the permissions it is created with (before the umask), e.g. 0o600 for records."""
    tmp = Path(out + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, out)  # never leave a half-written file behind
    except OSError as e:
        raise LedgerError(f"cannot write {out}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def one_line(e: Exception) -> str:
    """An error as ``main`` prints it, on one line."""
    if isinstance(e, SQLAlchemyError):
        return f"database: {str(getattr(e, 'orig', None) or e).splitlines()[0]}"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


@contextmanager
def progress(total: int | None, enabled: bool, unit: str = "bytes", label: str | None = None):
    """A progress bar on a terminal (of bytes read, or of records done); no-op elsewhere."""
    if not enabled:
        yield (lambda n: None), (lambda n: None)
        return
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    if unit == "bytes":
        columns = [TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TextColumn("{task.fields[records]} records"), TimeRemainingColumn()]
    else:
        columns = [TextColumn(label or "audit"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                   TimeRemainingColumn()]
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(unit, total=total, records=0)
        yield (lambda n: bar.advance(task, n)), (lambda n: bar.update(task, records=n))
