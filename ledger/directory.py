"""The factory directory (``IFactoryDirectory``): who a factory address is, as the registry
admin recorded it on chain.

A listing maps an address to a display name and the SHA-256 of the factory's business
registration number (e.g. an 18-character unified social credit code). The number stays off
chain; ``registration_digest`` is the one rule for hashing it, so anyone who is told the
number can check it against the listing. Verifiers print ``describe_factory``: the address
and, when listed, the name — escaped, since the name is text read from the chain.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from ledger.chain.client import Chain
from ledger.errors import InvalidArgumentError
from ledger.text import shown

MAX_NAME_BYTES = 128
_SEPARATORS = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class Listing:
    address: str
    name: str
    registration_digest: bytes


def registration_digest(number: str) -> bytes:
    """SHA-256 of a business registration number, normalised: spaces and hyphens removed, ASCII
    letters upper-cased (``91310000-ma1fl0000x`` and ``91310000MA1FL0000X`` give one digest)."""
    normal = _SEPARATORS.sub("", number).translate(_UPPER)
    if not normal:
        raise InvalidArgumentError("the registration number is empty")
    return hashlib.sha256(normal.encode("utf-8")).digest()


_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def registration_matches(listing: Listing | None, number: str) -> bool:
    """Whether ``number`` is the registration number ``listing`` was made with (False when
    there is no listing)."""
    return listing is not None and registration_digest(number) == listing.registration_digest


def check_name(name: str) -> str:
    """A directory name: 1 to 128 UTF-8 bytes of printable text, as the registry takes it."""
    name = name.strip()
    if not name or not name.isprintable():
        raise InvalidArgumentError("the factory's name must be printable text (no control characters)")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidArgumentError(f"the factory's name must be at most {MAX_NAME_BYTES} bytes of UTF-8")
    return name


def listing_of(chain: Chain, address: str) -> Listing | None:
    """The directory's listing of ``address`` on ``chain``'s registry, or None. The registry
    stores the name as bytes: invalid UTF-8 reads as U+FFFD (as a browser's TextDecoder does),
    never as an error."""
    address = to_checksum_address(address)
    call = {"to": chain.registry.address, "data": _FACTORY_LISTING + abi_encode(["address"], [address])}
    name, digest = abi_decode(["bytes", "bytes32"], bytes(chain.call(chain.w3.eth.call, call)))
    return Listing(address, name.decode("utf-8", "replace"), bytes(digest)) if name else None


_FACTORY_LISTING = keccak(text="factoryListing(address)")[:4]


def shown_name(name: str) -> str:
    """A name read from the chain, safe to print: non-printable characters escaped
    (``ledger.text.shown``)."""
    return shown(name)


def describe_factory(address: str, listing: Listing | None) -> str:
    """``factory 0x… (registered as NAME)`` or ``factory 0x… (not in the directory)``."""
    if listing is None:
        return f"factory {address} (not in the directory)"
    return f"factory {address} (registered as {shown_name(listing.name)})"


def list_factory(chain: Chain, admin, address: str, name: str, number: str) -> str:
    """List (or change the listing of) ``address`` as ``name`` with the digest of ``number``;
    sent by the registry admin. Returns the transaction hash."""
    name = check_name(name)
    fn = chain.registry.functions.listFactory(to_checksum_address(address), name, registration_digest(number))
    return "0x" + bytes(chain.transact(admin, fn)["transactionHash"]).hex()


def delist_factory(chain: Chain, admin, address: str) -> str:
    """Remove the listing of ``address`` (registry admin). Returns the transaction hash."""
    fn = chain.registry.functions.delistFactory(to_checksum_address(address))
    return "0x" + bytes(chain.transact(admin, fn)["transactionHash"]).hex()


def listed_factories(chain: Chain, from_block: int) -> list[Listing]:
    """Every factory listed now: each address ever listed (from the events), read again."""
    from ledger.chain.events import read_events

    events = read_events(chain, chain.registry.events.FactoryListed, from_block)  # paged, like every event read
    seen = dict.fromkeys(to_checksum_address(ev["args"]["factory"]) for ev in events)
    return [listing for listing in (listing_of(chain, a) for a in seen) if listing is not None]
