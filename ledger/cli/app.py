"""The ``dpl`` command: its groups and commands (the table of contents of the command line),
the root callback that builds the ``Context`` once, and ``main``, which turns every error into
one line on stderr."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from ledger.cli.access_log import access_log_app
from ledger.cli.anchoring import anchor, audit
from ledger.cli.applications import applications_app, apply
from ledger.cli.assets import asset_app
from ledger.cli.chain import chain_app, deploy
from ledger.cli.context import new_context
from ledger.cli.covenants import covenants_app
from ledger.cli.grants import grants_app
from ledger.cli.keys import keys_app
from ledger.cli.logs import ingest, log_app
from ledger.cli.monitor import monitor_app
from ledger.cli.output import one_line, say
from ledger.cli.pledge import pledge_app
from ledger.cli.profile import disclose, profile_app
from ledger.cli.proofs import consistency, prove, verify
from ledger.cli.publish import publish
from ledger.cli.registry import factories_app, lenders_app
from ledger.cli.serve import serve
from ledger.cli.webhooks import webhooks_app
from ledger.errors import BundleError, LedgerError

app = typer.Typer(
    help="Verifiable production logs: ingest records, prove them, verify proofs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Build this invocation's Context (nothing opens until a command needs it); close it after."""
    ctx.obj = new_context()
    ctx.call_on_close(ctx.obj.close)


app.command()(deploy)
app.command()(anchor)
app.command()(audit)
app.command()(ingest)
app.command()(prove)
app.command()(consistency)
app.command()(verify)
app.command()(publish)
app.command()(serve)
app.command()(disclose)
app.add_typer(log_app, name="log")
app.add_typer(keys_app, name="keys")
app.add_typer(chain_app, name="chain")
app.add_typer(asset_app, name="asset")
app.add_typer(lenders_app, name="lenders")
app.add_typer(factories_app, name="factories")
app.add_typer(pledge_app, name="pledge")
app.add_typer(profile_app, name="profile")
app.add_typer(covenants_app, name="covenants")
app.add_typer(monitor_app, name="monitor")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(grants_app, name="grants")
app.add_typer(access_log_app, name="access-log")
app.command()(apply)
app.add_typer(applications_app, name="applications")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C: a clean stop (an ingest in flight rolls back)
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BundleError as e:  # every message may quote the input: printed escaped (say)
        say(f"invalid: {e}", err=True)
        sys.exit(1)
    except LedgerError as e:
        say(f"error: {e}", err=True)
        sys.exit(1)
    except SQLAlchemyError as e:  # a database that is down, locked too long, or refused us
        say(f"error: {one_line(e)}", err=True)
        sys.exit(1)
    except ValidationError as e:  # a DPL_* setting that is not valid
        first = e.errors()[0]
        name = "DPL_" + str(first["loc"][0]).upper() if first.get("loc") else "a setting"
        say(f"error: {name}: {first['msg']}", err=True)
        sys.exit(1)
