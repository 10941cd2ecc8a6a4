"""``dpl grants create|list|revoke|read``: data-access grants (docs/GRANTS.md) on the local store.

Each command acts as the party whose API key is in ``DPL_API_KEY`` (the key ``dpl keys api``
made for it, the same key that party uses with the service's API): a factory creates and revokes
its grants, a lender reads through the grants naming it, an auditor lists every grant. The rules
are the service's (``ledger.service.grants``), as over HTTP."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import orjson
import typer

from ledger.cli.common import read_json
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, print_json, say, whole_file
from ledger.errors import InvalidArgumentError, LedgerError
from ledger.limits import MAX_INDEX

grants_app = typer.Typer(help="Data-access grants (docs/GRANTS.md): which fields of which records a lender may read.",
                         no_args_is_help=True)

ApiKey = Annotated[str, typer.Option("--api-key", envvar="DPL_API_KEY", show_default=False,
                                     help="The acting party's API key (default: DPL_API_KEY; prefer the "
                                          "environment variable to keep it out of the process list).")]
GrantId = Annotated[int, typer.Argument(help="The grant's id.", min=1, max=2**53 - 1)]


def _party(api_key: str):
    from ledger.store.parties import key_prefix

    party = context().parties.authenticate(api_key)
    if party is None:
        raise LedgerError("the API key is not valid (unknown or revoked): set DPL_API_KEY to the acting party's key")
    return party, key_prefix(api_key)


def _grants():
    from ledger.service.grants import Grants

    return Grants(context())


def _line(view) -> str:
    g = view.grant
    window = g["records"]
    span = f"[{window['from']}, {window['to']})" if "from" in window else f"{window['since']} .. {window['until']}"
    return (f"grant {view.id}  {view.state}  lender {g['lender']}  factory {view.factory}  "
            f"{len(g['logs'])} log(s)  records {span}  types {', '.join(g['types'])}  expires {g['expires']}")


@grants_app.command("create")
def grants_create(path: Annotated[str, typer.Argument(help="The dpl-grant/1 JSON file.")], api_key: ApiKey,
                  json: JsonFlag = False) -> None:
    """(Factory) Grant the lender a dpl-grant/1 names reads of your own logs until it expires."""
    party, _ = _party(api_key)
    view = _grants().create(party, read_json(path, "grant"))
    print_json(view.as_json()) if json else say(_line(view))


@grants_app.command("list")
def grants_list(api_key: ApiKey, json: JsonFlag = False) -> None:
    """Grants you made (factory), that name you (lender), or all of them (auditor)."""
    party, _ = _party(api_key)
    views = _grants().list(party)
    if json:
        print_json([v.as_json() for v in views])
        return
    for v in views:
        say(_line(v))
    if not views:
        typer.echo("no grants", err=True)


@grants_app.command("revoke")
def grants_revoke(grant_id: GrantId, api_key: ApiKey, json: JsonFlag = False) -> None:
    """(Factory) Revoke a grant at once: the lender's next read is refused. Revoking twice changes nothing."""
    party, _ = _party(api_key)
    view = _grants().revoke(party, grant_id)
    print_json(view.as_json()) if json else say(_line(view))


@grants_app.command("read")
def grants_read(
    grant_id: GrantId, api_key: ApiKey,
    log: Annotated[str, typer.Option("--log", help="The log's id (0x…) or its stream name.")],
    start: Annotated[int, typer.Option("--from", min=0, max=MAX_INDEX, help="First record index.")],
    end: Annotated[int, typer.Option("--to", min=1, max=MAX_INDEX, help="End of the range (exclusive; at most "
                                                                         "1,000 indices per read).")],
    out: Annotated[Optional[str], typer.Option("--out", help="The file to write (default: standard output).")] = None,
) -> None:
    """(Lender) Records [FROM, TO) of a granted log with only the granted fields (dpl-grant-read/1),
    recorded in the factory's access log."""
    party, prefix = _party(api_key)
    log_id = log.lower() if log.startswith(("0x", "0X")) else _log_id_of(log)
    document = _grants().read(party, grant_id, log_id, start, end, key_prefix=prefix)
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with whole_file(out, 0o600) as f:  # records in clear: the reader's only
        f.write(data)
    typer.echo(f"wrote {out} ({len(document['records'])} records)", err=True)


def _log_id_of(stream: str) -> str:
    info = context().store.get_log(stream)
    if info.log_id is None:
        raise InvalidArgumentError(f"log {stream!r} has no on-chain id yet, so no grant names it")
    return "0x" + info.log_id.hex()
