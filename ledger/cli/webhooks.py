"""``dpl webhooks deliver [--once] [--every SECONDS]``: the webhook delivery worker outside the
service (``docs/WEBHOOKS.md``). Safe next to the service's own loop and other workers: each
delivery is claimed under a lease and sent by one of them."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from ledger.cli.context import context
from ledger.cli.output import JsonFlag, one_line, print_json, say

webhooks_app = typer.Typer(help="Webhooks (docs/WEBHOOKS.md): signed event deliveries to the parties' URLs.",
                           no_args_is_help=True)


@webhooks_app.command("deliver")
def webhooks_deliver(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    every: Annotated[Optional[float], typer.Option("--every", min=0.1,
                                                   help="Seconds between passes (default DPL_WEBHOOKS_INTERVAL, "
                                                        "else 10).")] = None,
    json: JsonFlag = False,
) -> None:
    """Send the deliveries that are due: a 2xx is delivered, anything else is retried with
    backoff for a day, then failed. Without --once it keeps going (Ctrl-C stops it; a delivery
    in flight is sent again later, and receivers dedupe it by its id)."""
    from ledger.service.webhooks import deliver_due

    ctx = context()
    interval = every or ctx.settings.webhooks_interval or 10.0
    try:
        while True:
            try:
                done = deliver_due(ctx)
            except Exception as e:  # noqa: BLE001
                if once:
                    raise
                say(f"delivery pass failed: {one_line(e)}; retrying in {interval:g} s", err=True)
            else:
                if json:
                    print_json(done.__dict__)
                elif done.attempted or once:
                    say(f"{done.attempted} attempted: {done.delivered} delivered, {done.retrying} to retry, "
                        f"{done.failed} failed")
            if once:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        typer.echo("stopped (Ctrl-C)", err=True)
        raise typer.Exit(130) from None
