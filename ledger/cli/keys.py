"""``dpl keys``: signing keys (encrypted keystores under DPL_HOME/keys) and API keys."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.context import context
from ledger.cli.output import JsonFlag, print_json

keys_app = typer.Typer(help="Signing keys: encrypted keystores under DPL_HOME/keys.", no_args_is_help=True)


def _key_json(k) -> dict:
    return {"name": k.name, "address": k.address, "dev_only": k.dev_only}


@keys_app.command("new")
def keys_new(name: Annotated[str, typer.Option("--name", help="Name of the new key.")],
             json: JsonFlag = False) -> None:
    """Create a key, encrypted with DPL_KEY_PASSPHRASE (or a passphrase you type)."""
    ctx = context()
    ctx.passphrase(confirm=True)  # a new passphrase is typed twice
    k = ctx.keyring.new(name)
    if json:
        print_json(_key_json(k))
    else:
        typer.echo(f"created key {k.name}: {k.address}")


@keys_app.command("list")
def keys_list(json: JsonFlag = False) -> None:
    """List keys: name, address, and whether it is a dev-only key."""
    keys = [_key_json(k) for k in context().keyring.list()]
    if json:
        print_json(keys)
    elif not keys:
        typer.echo("no keys yet (dpl keys new --name NAME, or dpl keys import-dev for the local chain)")
    else:
        for k in keys:
            typer.echo(f"{k['name']}\t{k['address']}" + ("\tdev-only (local chain 31337)" if k["dev_only"] else ""))


@keys_app.command("import-dev")
def keys_import_dev(json: JsonFlag = False) -> None:
    """Import anvil's ten well-known accounts as dev0..dev9 (local chain only)."""
    keys = [_key_json(k) for k in context().keyring.import_dev()]
    if json:
        print_json(keys)
    else:
        for k in keys:
            typer.echo(f"{k['name']}\t{k['address']}\tdev-only")


@keys_app.command("api")
def keys_api(role: Annotated[str, typer.Option("--role", help="factory, lender, auditor or admin.")],
             party: Annotated[str, typer.Option("--party", help="The party's name (created when new).")],
             address: Annotated[Optional[str], typer.Option("--address", help="Its chain address (new party).")] = None,
             key: Annotated[Optional[str], typer.Option("--key", help="A keyring key the service signs with for it "
                                                                        "(custody; sets the address).")] = None,
             json: JsonFlag = False) -> None:
    """Make an API key for a party of the service (shown once; only its hash is stored)."""
    from ledger.service.admin import Parties

    made = Parties(context()).key_for(party, role, address, key)
    if json:
        print_json({"party": made.party, "role": made.role, "key": made.key})
    else:
        typer.echo(f"API key for {made.party} ({made.role}), shown once:\n{made.key}")


@keys_app.command("api-revoke")
def keys_api_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (the 8 hex digits after dpl_).")]) -> None:
    """Revoke an API key."""
    from ledger.service.admin import Parties

    Parties(context()).revoke(prefix)
    typer.echo(f"revoked API key {prefix}")
