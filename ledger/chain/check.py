"""What a verifier checks on chain, trusting only the registry it pinned (DESIGN.md section 7).

Every verifier (``dpl verify --rpc``, ``dpl pledge verify``, the browser's ``verify/chain.js``)
reads the chain through a ``TrustedRegistry`` (``ledger.chain.deploy.trusted_registry``), never
through the address a bundle names, and:

- checks that the trusted address holds our registry's code (``registry``);
- reads the log's factory from the chain and recomputes the log id from it and the stream the
  bundle names (``factory``), printing the factory and its directory listing; when the verifying
  party names the factory it expects (``--factory``), another factory fails (``expected factory``);
- for a ``dpl-proof/1`` bundle: checks that the bundle names that registry, that the registry
  holds the bundle's root at its size (``anchor``), and that the anchor transaction the bundle
  cites is real (``anchor transaction``); a field that is not checked is not printed.

Checks are ``ledger.pledge.collateral.Check`` (name, ok, detail) with the browser's names and words.
"""

from __future__ import annotations

from datetime import datetime, timezone

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from ledger.bundles import Verified, to_hex
from ledger.chain.client import Chain, log_id_of
from ledger.chain.deploy import TrustedRegistry, runtime_matches, trusted_registry
from ledger.checks import Check
from ledger.pledge.collateral import is_valid_address
from ledger.directory import Listing, describe_factory, listing_of
from ledger.errors import BundleError, InvalidArgumentError

#: topic0 of ``CheckpointAnchored(bytes32 indexed logId, uint64 size, bytes32 root, uint64 previousSize)``
CHECKPOINT_ANCHORED = keccak(text="CheckpointAnchored(bytes32,uint64,bytes32,uint64)")


def registry_check(chain: Chain, trusted: TrustedRegistry) -> Check:
    """``registry``: the trusted address holds our registry's runtime code."""
    ours = runtime_matches(chain, trusted.address)
    return Check("registry", ours, f"{trusted.address} on chain {chain.chain_id} (from {trusted.source}) "
                 + ("holds the data-pledge registry code" if ours else "does NOT hold the registry's code"))


def factory_check(log_id: bytes, stream: object, factory: str | None, listing: Listing | None) -> Check:
    """``factory``: ``log_id`` is ``keccak256(abi.encode(factory, stream))`` for the ``factory`` the
    registry names for it (None: no factory, the log is not registered) and the ``stream`` the
    bundle names. Pure: the caller reads ``factory`` and its ``listing`` from the chain."""
    log = to_hex(log_id)
    if factory is None:
        return Check("factory", False, f"log {log} is not registered in the registry: no factory owns it")
    who = describe_factory(factory, listing)
    if not isinstance(stream, str):
        return Check("factory", False, f"{who} owns log {log}, but the bundle names no stream to check it against")
    try:
        expected = log_id_of(factory, stream)
    except UnicodeEncodeError:
        return Check("factory", False, f"{who} owns log {log}, but the bundle's stream is not valid Unicode "
                                       "(a lone surrogate)")
    if expected != log_id:
        return Check("factory", False, f"{who} owns log {log}, but its stream {stream!r} would be log "
                                       f"{to_hex(expected)}: the bundle's stream is not this log's")
    return Check("factory", True, f"{who}; log {log} is its stream {stream!r}")


def expected_factory(value: str | None) -> str | None:
    """The factory the verifying party expects (``--factory``, the page's expected-factory field),
    checksummed; None when none is given. Not an address: ``InvalidArgumentError``."""
    if value is None:
        return None
    if not is_valid_address(value):
        raise InvalidArgumentError(f"--factory {value!r} is not an Ethereum address "
                                   "(0x and 40 hex digits; EIP-55 if mixed case)")
    return to_checksum_address(value)


def expected_factory_check(factory: str | None, listing: Listing | None, expected: str) -> Check:
    """``expected factory``: the log's factory, read from the registry (None: no factory), is the
    one the verifying party expects. Anyone may register a stream of any name under their own
    address (a rival factory's ``acme/line-a``): the registry names whose log it is, this check
    says whether that is the factory the lender deals with. Pure."""
    if factory is None:
        return Check("expected factory", False, f"no factory owns the log, not the expected factory {expected}")
    who = describe_factory(factory, listing)
    if factory != expected:
        return Check("expected factory", False, f"the log belongs to {who}, not to the expected factory {expected}")
    return Check("expected factory", True, f"the log belongs to {who}, the expected factory")


def read_factory(chain: Chain, log_id: bytes) -> tuple[str | None, Listing | None]:
    """The factory that owns ``log_id`` in the chain's registry (None if none) and its listing."""
    factory = chain.call(chain.registry.functions.factoryOf(log_id).call)
    if int(factory, 16) == 0:
        return None, None
    factory = to_checksum_address(factory)
    return factory, listing_of(chain, factory)


def proof_checks(verified: Verified, chain: Chain, trusted: TrustedRegistry,
                 expected: str | None = None) -> list[Check]:
    """The chain checks of a bundle that verified offline, in order, up to the first that fails:
    ``registry``, ``bundle names this registry``, ``factory``, ``expected factory`` when the
    verifying party names the factory it expects (``expected``: checksummed, see
    ``expected_factory``), ``anchor`` and, when the bundle cites its anchor's transaction,
    ``anchor transaction``. ``chain`` is any client of the node (it is pointed at the trusted
    registry)."""
    anchor = verified.anchor
    if verified.log_id is None or anchor is None:
        return [Check("anchor", False, "the bundle names no anchored checkpoint (log_id or anchor is null): "
                                       "nothing to check on chain")]
    if anchor["chain_id"] != chain.chain_id:
        return [Check("anchor", False, f"{chain.shown_url} is chain {chain.chain_id}, but the bundle's anchor is "
                                       f"on chain {anchor['chain_id']}")]
    chain.use_registry(trusted.address)
    checks = [registry_check(chain, trusted)]
    if not checks[-1].ok:
        return checks
    named = anchor["registry"]
    same = named.lower() == trusted.address.lower()
    checks.append(Check("bundle names this registry", same,
                        f"the anchor names {trusted.address}" if same else
                        f"the bundle's anchor names registry {named}, not the trusted registry {trusted.address} "
                        f"of chain {chain.chain_id}"))
    if not same:
        return checks
    factory, listing = read_factory(chain, verified.log_id)
    checks.append(factory_check(verified.log_id, verified.stream, factory, listing))
    if _expected_then_anchored(checks, chain, trusted, verified, factory, listing, expected) and \
            anchor.get("tx_hash") is not None:
        checks.append(_anchor_transaction(chain, trusted, verified))
    return checks


def _expected_then_anchored(checks: list[Check], chain: Chain, trusted: TrustedRegistry, verified: Verified,
                            factory, listing, expected: str | None) -> bool:
    """After the ``factory`` check last in ``checks``: ``expected factory`` when one is named,
    then ``anchor``, appended up to the first that fails. True when all of them pass."""
    if not checks[-1].ok:
        return False
    if expected is not None:
        checks.append(expected_factory_check(factory, listing, expected))
        if not checks[-1].ok:
            return False
    checks.append(_anchored(chain, trusted, verified))
    return checks[-1].ok


#: The registry counts sizes and token ids in uint64: a bundle's number above this is never sent
#: in a call (the ABI would refuse to encode it); it fails its check instead.
UINT64_MAX = 2**64 - 1


def _anchored(chain: Chain, trusted: TrustedRegistry, v: Verified) -> Check:
    if v.size > UINT64_MAX:
        return Check("anchor", False, f"size {v.size} is beyond uint64: no registry holds a checkpoint of that size")
    root = bytes(chain.call(chain.registry.functions.rootAt(v.log_id, v.size).call))
    if root == bytes(32):
        return Check("anchor", False, f"the registry holds no checkpoint of size {v.size} for log "
                                      f"{to_hex(v.log_id)}: the bundle's root was never anchored")
    if root != v.root:
        return Check("anchor", False, f"the registry holds root {to_hex(root)} for size {v.size}, but the bundle "
                                      f"claims {to_hex(v.root)}")
    return Check("anchor", True, f"anchored on chain {chain.chain_id} in registry {trusted.address}")


def _anchor_transaction(chain: Chain, trusted: TrustedRegistry, v: Verified) -> Check:
    """The bundle's ``anchor.tx_hash`` (and ``block_number``, when given) is the transaction that
    anchored this checkpoint: mined, succeeded, in that block, and its logs hold the
    ``CheckpointAnchored(logId, size, root)`` that the trusted registry itself emitted (the log's
    address is the registry's). Whom it was sent to does not matter: a factory's wallet or a
    batching contract may call the registry; only the registry can emit its own log. When it was
    anchored is that block's timestamp (the registry keeps a time only for a log's latest
    checkpoint)."""
    tx, block = v.anchor["tx_hash"], v.anchor.get("block_number")
    receipt = chain.receipt(bytes.fromhex(tx[2:]))

    def fail(why: str) -> Check:
        return Check("anchor transaction", False, f"transaction {tx} {why}")

    if receipt is None:
        return fail(f"is not on chain {chain.chain_id}")
    if receipt["status"] != 1:
        return fail("failed (status 0): it anchored nothing")
    if block is not None and receipt["blockNumber"] != block:
        return fail(f"is in block {receipt['blockNumber']}, not in block {block} as the bundle says")
    for log in receipt["logs"]:
        topics = [bytes(t) for t in log["topics"]]
        data = bytes(log["data"])
        if (log["address"].lower() == trusted.address.lower() and len(topics) == 2 and len(data) == 96
                and topics[0] == CHECKPOINT_ANCHORED and topics[1] == v.log_id):
            size, root, _ = abi_decode(["uint64", "bytes32", "uint64"], data)
            if size == v.size and bytes(root) == v.root:
                at = chain.block_time(receipt["blockNumber"])
                if at is None:
                    return fail(f"is in block {receipt['blockNumber']}, which the node does not have")
                when = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")
                return Check("anchor transaction", True,
                             f"transaction {tx} in block {receipt['blockNumber']} at {when} anchored this checkpoint")
    return fail(f"holds no CheckpointAnchored of log {to_hex(v.log_id)} at size {v.size} with root "
                f"{to_hex(v.root)} from the registry {trusted.address}")


def verify_on_chain(verified: Verified, rpc_url: str, home, registry: str | None = None,
                    factory: str | None = None) -> list[Check]:
    """``dpl verify --rpc``: the chain checks of an offline-valid bundle against the registry this
    verifier trusts (``registry`` if given, else the pinned record), and the log's factory against
    ``factory`` when given (``--factory``). Raises ``BundleError`` with the first failing check's
    reason; ``UntrustedRegistryError`` when nothing is trusted for the chain. Returns the checks,
    all passed."""
    expected = expected_factory(factory)
    if verified.log_id is None or verified.anchor is None:
        raise BundleError("the bundle names no anchored checkpoint (log_id or anchor is null): "
                          "nothing to check on chain")
    chain = Chain(rpc_url)
    if verified.anchor["chain_id"] != chain.chain_id:  # before asking what is trusted on the wrong chain
        raise BundleError(f"{chain.shown_url} is chain {chain.chain_id}, but the bundle's anchor is on chain "
                          f"{verified.anchor['chain_id']}")
    trusted = trusted_registry(chain.chain_id, home, registry)
    checks = proof_checks(verified, chain, trusted, expected)
    failed = [c for c in checks if not c.ok]
    if failed:
        raise BundleError(failed[0].detail)
    return checks


def checkpoint_checks(chain: Chain, trusted: TrustedRegistry, log_id: bytes, size: int, root: bytes,
                      stream: str | None = None, expected: str | None = None) -> list[Check]:
    """The chain checks of a published checkpoint (``dpl verify --tiles --rpc``), in order, up to
    the first that fails: ``registry``, ``factory`` (with the stream of a bundle checked with it:
    the log id is that factory's stream; without one: a factory owns the log), ``expected
    factory`` when given, and ``anchor``: the trusted registry holds ``root`` at ``size``."""
    chain.use_registry(trusted.address)
    checks = [registry_check(chain, trusted)]
    if not checks[-1].ok:
        return checks
    factory, listing = read_factory(chain, log_id)
    if stream is not None:
        checks.append(factory_check(log_id, stream, factory, listing))
    elif factory is None:
        checks.append(Check("factory", False, f"log {to_hex(log_id)} is not registered in the registry: no "
                                              "factory owns it"))
    else:
        checks.append(Check("factory", True, f"{describe_factory(factory, listing)} owns log {to_hex(log_id)}"))
    _expected_then_anchored(checks, chain, trusted, Verified("tlog-checkpoint", stream or "", "", log_id, size, root),
                            factory, listing, expected)
    return checks
