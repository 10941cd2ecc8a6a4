"""What the asset, registry and pledge commands share: key and address arguments, JSON files
read strictly, the pledge mirror brought up to date."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.context import context
from ledger.errors import InvalidArgumentError

Token = Annotated[int, typer.Argument(help="The pledge's token id.", min=1, max=2**64 - 1)]


def key_option(default: str | None, who: str):
    return Annotated[Optional[str] if default is None else str,
                     typer.Option("--key", help=f"Key (from dpl keys) of the {who}" +
                                  (f" (default {default})." if default else "."))]


def address_of(value: str) -> str:
    """An 0x address, or the address of a key name from ``dpl keys``."""
    from eth_utils import is_address, to_checksum_address

    if is_address(value):
        return to_checksum_address(value)
    if value.startswith("0x"):
        raise InvalidArgumentError(f"{value!r} is not an Ethereum address")
    return context().keyring.info(value).address


def account_for(chain, key: str):
    return context().keyring.account(key, chain.chain_id)


def read_json(path: str, what: str) -> object:
    from ledger import jsonio

    try:  # size-capped, depth-checked before any parser recurses, duplicate keys refused
        return jsonio.load_file(path, what=what)
    except jsonio.JsonInputError as e:
        raise InvalidArgumentError(f"{path} is not a JSON {what}: {e.reason}"
                                   + (f" (at {e.path})" if e.path else "")) from None
