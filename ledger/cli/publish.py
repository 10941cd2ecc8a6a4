"""``dpl publish``: a log's newest anchored checkpoint and its tiles, as C2SP static files."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ledger.cli.context import context
from ledger.cli.output import JsonFlag, print_json, progress, say


def publish(
    out: Annotated[str, typer.Option("--out", help="The directory to publish to (served by any static "
                                                   "web server, CDN or bucket).")],
    stream: Annotated[Optional[list[str]], typer.Option(
        "--stream", help="Publish this log (repeatable; default: every log with an anchored checkpoint).")] = None,
    json: JsonFlag = False,
) -> None:
    """Publish each log's newest anchored checkpoint as a C2SP signed note and its hashes as C2SP
    tiles under OUT/<log id hex>/ (docs/TILES.md); a re-run writes only what is new."""
    from ledger.service.publish import publish as run

    with progress(None, sys.stderr.isatty() and not json, unit="tiles", label="publish") as (on_tiles, _):
        done = run(context().store, out, stream, on_tiles)
    if json:
        print_json([{"stream": p.stream, "log_id": "0x" + p.log_id.hex(), "directory": str(p.directory),
                     "size": p.size, "root": "0x" + p.root.hex(), "origin": p.origin, "vkey": p.vkey,
                     "tiles_written": p.tiles_written, "checkpoint_written": p.checkpoint_written}
                    for p in done])
        return
    if not done:
        say("nothing to publish: no log has an anchored checkpoint")
    for p in done:
        what = "published" if p.checkpoint_written else "already published"
        say(f"{p.stream}: {what} size {p.size} (root 0x{p.root.hex()}) in {p.directory}, "
            f"{p.tiles_written} new tiles; note key {p.vkey}")
