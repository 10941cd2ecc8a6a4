"""``dpl lenders`` and ``dpl factories``: the registry's approved lenders and its factory
directory, kept by the admin (``ledger.service.admin``). A lender or factory is named by its
address, a key's name (``dpl keys``) or its party's name; a change the registry already has
sends nothing."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.bundles import to_hex
from ledger.cli.common import key_option
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, print_json

lenders_app = typer.Typer(help="The registry's approved lenders (admin).", no_args_is_help=True)
factories_app = typer.Typer(help="The registry's factory directory: who an address is (kept by the admin).",
                            no_args_is_help=True)

Lender = Annotated[str, typer.Argument(help="Address, key name or party name of the lender.")]
Factory = Annotated[str, typer.Argument(help="Address, key name or party name of the factory.")]
AdminKey = key_option("dev0", "registry admin")


def _ctx(rpc: str | None):
    return context().use_rpc(rpc)


def _approve(address: str, approved: bool, key: str, rpc: str | None):
    from ledger.service.admin import Lenders, address_of, key_signer

    ctx = _ctx(rpc)
    return Lenders(ctx).set(address_of(ctx, address, "lender", keys=True), approved, key_signer(ctx, key))


@lenders_app.command("add")
def lenders_add(address: Lender, key: AdminKey = "dev0", rpc: RpcOption = None) -> None:
    """Approve a lender: it may then issue and receive pledges."""
    change = _approve(address, True, key, rpc)
    who, tx = change.address, change.tx_hash
    typer.echo(f"approved lender {who} (tx {tx})" if tx else f"{who} is already an approved lender")


@lenders_app.command("remove")
def lenders_remove(address: Lender, key: AdminKey = "dev0", rpc: RpcOption = None) -> None:
    """Withdraw a lender's approval: it keeps the pledges it holds, but can take no new ones."""
    change = _approve(address, False, key, rpc)
    who, tx = change.address, change.tx_hash
    typer.echo(f"removed lender {who} (tx {tx})" if tx else f"{who} is not an approved lender")


@lenders_app.command("list")
def lenders_list(rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """The approved lenders now (from the registry's role events, checked with hasRole)."""
    from ledger.service.admin import Lenders

    lenders = Lenders(_ctx(rpc)).list()
    if json:
        print_json(lenders)
    elif not lenders:
        typer.echo("no approved lenders (add one: dpl lenders add ADDRESS)")
    else:
        for a in lenders:
            typer.echo(a)


@factories_app.command("set")
def factories_set(address: Factory,
                  name: Annotated[str, typer.Option("--name", help="Its display name, e.g. 'ACME Precision Co.'.")],
                  registration: Annotated[str, typer.Option(
                      "--registration", help="Its business registration number (only its SHA-256 goes on chain).")],
                  key: AdminKey = "dev0", rpc: RpcOption = None) -> None:
    """List a factory in the directory (or change its listing)."""
    from ledger.directory import shown_name
    from ledger.service.admin import Directory, address_of, key_signer

    ctx = _ctx(rpc)
    change = Directory(ctx).set(address_of(ctx, address, "factory", keys=True), name, registration,
                                key_signer(ctx, key))
    listed = shown_name(repr(change.listing.name))
    typer.echo(f"listed {change.address} as {listed} (tx {change.tx_hash})" if change.tx_hash
               else f"{change.address} is already listed as {listed}")


@factories_app.command("remove")
def factories_remove(address: Factory, key: AdminKey = "dev0", rpc: RpcOption = None) -> None:
    """Remove a factory's listing (its logs and pledges are untouched)."""
    from ledger.service.admin import Directory, address_of, key_signer

    ctx = _ctx(rpc)
    change = Directory(ctx).remove(address_of(ctx, address, "factory", keys=True), key_signer(ctx, key))
    typer.echo(f"removed {change.address} from the directory (tx {change.tx_hash})" if change.tx_hash
               else f"{change.address} is not in the directory")


@factories_app.command("show")
def factories_show(address: Factory,
                   registration: Annotated[Optional[str], typer.Option(
                       "--registration", help="Check this registration number against the listing.")] = None,
                   rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Who the directory says a factory address is (exit 1 when --registration does not match)."""
    from ledger.directory import describe_factory, registration_matches
    from ledger.service.admin import Directory, address_of

    ctx = _ctx(rpc)
    who = address_of(ctx, address, "factory", keys=True)
    listing = Directory(ctx).show(who)
    matches = None if registration is None else registration_matches(listing, registration)
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
    from ledger.directory import shown_name
    from ledger.service.admin import Directory

    listings = Directory(_ctx(rpc)).list()
    if json:
        print_json([{"address": item.address, "name": item.name,
                     "registration_digest": to_hex(item.registration_digest)} for item in listings])
    elif not listings:
        typer.echo("no factories listed (add one: dpl factories set ADDRESS --name NAME --registration NUMBER)")
    else:
        for item in listings:
            typer.echo(f"{item.address}\t{shown_name(item.name)}")
