"""``dpl lenders`` and ``dpl factories``: the registry's approved lenders and its factory
directory (kept by the admin)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.bundles import to_hex
from ledger.cli.common import account_for, address_of, key_option
from ledger.cli.context import context, settings_and_chain
from ledger.cli.output import JsonFlag, RpcOption, print_json

lenders_app = typer.Typer(help="The registry's approved lenders (admin).", no_args_is_help=True)
factories_app = typer.Typer(help="The registry's factory directory: who an address is (kept by the admin).",
                            no_args_is_help=True)


@lenders_app.command("add")
def lenders_add(address: Annotated[str, typer.Argument(help="Address or key name of the lender.")],
                key: key_option("dev0", "registry admin") = "dev0", rpc: RpcOption = None) -> None:
    """Approve a lender: it may then issue and receive pledges."""
    from ledger.pledge.chain import set_lender

    _, chain = settings_and_chain(rpc)
    who = address_of(address)
    tx = set_lender(chain, account_for(chain, key), who, True)
    typer.echo(f"approved lender {who} (tx {tx})" if tx else f"{who} is already an approved lender")


@lenders_app.command("remove")
def lenders_remove(address: Annotated[str, typer.Argument(help="Address or key name of the lender.")],
                   key: key_option("dev0", "registry admin") = "dev0", rpc: RpcOption = None) -> None:
    """Withdraw a lender's approval: it keeps the pledges it holds, but can take no new ones."""
    from ledger.pledge.chain import set_lender

    _, chain = settings_and_chain(rpc)
    who = address_of(address)
    tx = set_lender(chain, account_for(chain, key), who, False)
    typer.echo(f"removed lender {who} (tx {tx})" if tx else f"{who} is not an approved lender")


@lenders_app.command("list")
def lenders_list(rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """The approved lenders now (from the registry's role events, checked with hasRole)."""
    from ledger.pledge.chain import approved_lenders

    _, chain = settings_and_chain(rpc)
    lenders = approved_lenders(chain, context().deployment_block)
    if json:
        print_json(lenders)
    elif not lenders:
        typer.echo("no approved lenders (add one: dpl lenders add ADDRESS)")
    else:
        for a in lenders:
            typer.echo(a)


@factories_app.command("set")
def factories_set(address: Annotated[str, typer.Argument(help="Address or key name of the factory.")],
                  name: Annotated[str, typer.Option("--name", help="Its display name, e.g. 'ACME Precision Co.'.")],
                  registration: Annotated[str, typer.Option(
                      "--registration", help="Its business registration number (only its SHA-256 goes on chain).")],
                  key: key_option("dev0", "registry admin") = "dev0", rpc: RpcOption = None) -> None:
    """List a factory in the directory (or change its listing)."""
    from ledger.directory import list_factory

    _, chain = settings_and_chain(rpc)
    who = address_of(address)
    tx = list_factory(chain, account_for(chain, key), who, name, registration)
    typer.echo(f"listed {who} as {name.strip()!r} (tx {tx})")


@factories_app.command("remove")
def factories_remove(address: Annotated[str, typer.Argument(help="Address or key name of the factory.")],
                     key: key_option("dev0", "registry admin") = "dev0", rpc: RpcOption = None) -> None:
    """Remove a factory's listing (its logs and pledges are untouched)."""
    from ledger.directory import delist_factory

    _, chain = settings_and_chain(rpc)
    who = address_of(address)
    typer.echo(f"removed {who} from the directory (tx {delist_factory(chain, account_for(chain, key), who)})")


@factories_app.command("show")
def factories_show(address: Annotated[str, typer.Argument(help="Address or key name of the factory.")],
                   registration: Annotated[Optional[str], typer.Option(
                       "--registration", help="Check this registration number against the listing.")] = None,
                   rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Who the directory says a factory address is (exit 1 when --registration does not match)."""
    from ledger.directory import describe_factory, listing_of, registration_digest

    _, chain = settings_and_chain(rpc)
    who = address_of(address)
    listing = listing_of(chain, who)
    matches = None
    if registration is not None:
        matches = listing is not None and registration_digest(registration) == listing.registration_digest
    if json:
        print_json({"address": who, "listed": listing is not None, "name": listing.name if listing else None,
                             "registration_digest": to_hex(listing.registration_digest) if listing else None,
                             "registration_matches": matches})
    else:
        typer.echo(describe_factory(who, listing))
        if matches is not None:
            typer.echo("the registration number matches the listing" if matches
                       else "the registration number does NOT match the listing")
    if matches is False:
        raise typer.Exit(1)


@factories_app.command("list")
def factories_list(rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Every factory listed now."""
    from ledger.directory import listed_factories, shown_name

    _, chain = settings_and_chain(rpc)
    listings = listed_factories(chain, context().deployment_block)
    if json:
        print_json([{"address": item.address, "name": item.name,
                              "registration_digest": to_hex(item.registration_digest)} for item in listings])
    elif not listings:
        typer.echo("no factories listed (add one: dpl factories set ADDRESS --name NAME --registration NUMBER)")
    else:
        for item in listings:
            typer.echo(f"{item.address}\t{shown_name(item.name)}")
