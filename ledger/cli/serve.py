"""``dpl serve``: the HTTP API and the pages, with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.context import context
from ledger.errors import LedgerError


def serve(host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
          workers: Annotated[int, typer.Option("--workers", min=1)] = 1) -> None:
    """Serve the HTTP API (and landing page) with uvicorn."""
    import uvicorn

    context().store.close()  # migrate once, and fail here (not in a worker) on a bad DB or key
    config = uvicorn.Config("api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                            log_level="info", access_log=False)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    from ledger.serve_socket import listening_socket

    try:
        sock = listening_socket(host, port)
    except OSError as e:
        raise LedgerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    typer.echo(f"serving http://{host}:{sock.getsockname()[1]} with {workers} workers (Ctrl-C stops)", err=True)
    Multiprocess(config, sockets=[sock]).run()
