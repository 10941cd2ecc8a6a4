"""The access log: every read through a data-access grant, appended to the factory's own
RFC 9162 log before the read's answer leaves (``docs/ACCESS.md``).

- One access log per factory address, an ordinary log of the log store named
  ``dpl-access/<factory address, lowercase>``: ingest's all-or-nothing append under the log's
  lock, tiles, proofs and the anchoring loop apply unchanged. The prefix ``dpl-access`` is
  reserved: ``Logs.create`` and ``Logs.ingest`` refuse it (``refuse_reserved``), so no party or
  operator can create such a log or append to one; only ``AccessLog.record`` does.
- The log is the service's own: bound at creation to the address of the service's key
  (``DPL_RELAYER_KEY``), so the anchorer signs its checkpoints and its ``RegisterLog`` with that
  key, and the registry names the service as the log's factory (``factoryOf``).
- An entry is a record of type ``dpl.access``: ``ts`` the service's clock, ``data`` =
  ``{"party", "role", "address", "key_prefix", "grant_id", "log_id", "records", "fields",
  "outcome", "reason"}``, ``records`` either ``{"from", "to"}`` (an index range) or ``{"count",
  "indices_sha256"}`` (SHA-256 of the RFC 8785 bytes of the sorted distinct index list).
- ``record`` returns a ``Receipt`` (the access log's on-chain id, the entry's index and leaf
  hash) once the entry is committed; when the entry cannot be written it raises, and the read
  must fail with it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from eth_utils import to_checksum_address

from ledger.bundles import to_hex
from ledger.canonical import canonicalize
from ledger.errors import (ConflictError, ForbiddenError, InvalidArgumentError, InvariantError, LedgerError,
                           NotFoundError)
from ledger.service.context import Context
from ledger.store.logstore import LogInfo
from ledger.store.parties import PartyInfo

#: The first part of every access log's stream name; reserved for the service.
RESERVED = "dpl-access"
#: The record type of an access log entry.
ENTRY_TYPE = "dpl.access"
OUTCOMES = ("read", "refused")
MAX_REASON = 500
#: Entries one listing returns at most (a page; ``start`` pages on).
MAX_PAGE = 1000


def is_reserved(stream: str) -> bool:
    """Whether ``stream`` is in the service's reserved namespace (any letter case)."""
    return stream.split("/", 1)[0].lower() == RESERVED


def refuse_reserved(stream: str, doing: str) -> None:
    """``InvalidArgumentError`` (``doing="create"``) or ``ForbiddenError`` (``"append to"``)
    for a stream in the reserved namespace: only the service writes its access logs."""
    if not is_reserved(stream):
        return
    if doing == "create":
        raise InvalidArgumentError(f"stream names beginning with {RESERVED!r} are reserved for the service's "
                                   "access logs")
    raise ForbiddenError(f"log {stream!r} is an access log: only the service appends to it")


def access_stream(factory_address: str) -> str:
    """The stream name of the access log of ``factory_address``."""
    if not (isinstance(factory_address, str) and len(factory_address) == 42
            and factory_address[:2] in ("0x", "0X")):
        raise InvalidArgumentError(f"not a factory address: {str(factory_address)[:80]!r}")
    try:
        int(factory_address[2:], 16)
    except ValueError:
        raise InvalidArgumentError(f"not a factory address: {factory_address[:80]!r}") from None
    return f"{RESERVED}/0x{factory_address[2:].lower()}"


def indices_digest(indices) -> dict:
    """``{"count", "indices_sha256"}`` of a list of record indices: the number of distinct
    indices and SHA-256 of the RFC 8785 bytes of their sorted list (e.g. ``[3,5,9]``)."""
    distinct = sorted(set(indices))
    if any(type(i) is not int or i < 0 for i in distinct):
        raise InvalidArgumentError("indices must be integers >= 0")
    return {"count": len(distinct), "indices_sha256": to_hex(hashlib.sha256(canonicalize(distinct)).digest())}


def _records(indices) -> dict:
    if isinstance(indices, tuple):
        if len(indices) != 2 or any(type(i) is not int for i in indices) or not 0 <= indices[0] <= indices[1]:
            raise InvalidArgumentError(f"an index range must be (from, to) with 0 <= from <= to, not {indices!r}")
        return {"from": indices[0], "to": indices[1]}
    if isinstance(indices, list):
        return indices_digest(indices)
    raise InvalidArgumentError("indices must be a (from, to) tuple or a list of indices")


def _fields(fields) -> dict:
    if not isinstance(fields, dict):
        raise InvalidArgumentError("fields must map record types to field lists (or '*')")
    out = {}
    for rtype, names in sorted(fields.items()):
        if not isinstance(rtype, str):
            raise InvalidArgumentError("fields must map record types (strings) to field lists")
        if names == "*":
            out[rtype] = "*"
        elif isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names):
            out[rtype] = sorted(set(names))
        else:
            raise InvalidArgumentError(f"fields of {rtype!r} must be a list of names or '*'")
    return out


def _now() -> str:
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Receipt:
    """What the reader gets with each answer: the entry that records its read."""

    log_id: str  # 0x hex of the access log's on-chain id
    index: int  # the entry's index in the access log
    leaf_hash: str  # 0x hex

    def as_json(self) -> dict:
        return {"access_log": self.log_id, "index": self.index, "leaf_hash": self.leaf_hash}


class AccessLog:
    """The access logs' use cases: ``record`` (the grants' read path), ``entries``, ``proof``,
    ``consistency`` (listing and verifying, for the factory, auditors and the reader)."""

    def __init__(self, ctx: Context, clock: Callable[[], str] = _now):
        self.ctx = ctx
        self.clock = clock

    # --- whose log -----------------------------------------------------------------------

    @staticmethod
    def address_of(factory: PartyInfo | str) -> str:
        """The factory address of ``factory`` (a party of the service, or an 0x address)."""
        if isinstance(factory, PartyInfo):
            if factory.role != "factory":
                raise InvalidArgumentError(f"{factory.name!r} is not a factory")
            if not factory.address:
                raise ConflictError(f"the factory {factory.name!r} has no chain address: it has no access log")
            return factory.address
        access_stream(factory)  # checks the shape
        return to_checksum_address(factory)

    def factory(self, value: str) -> str:
        """The factory address named by ``value``: an 0x address, or a factory party's name."""
        if value.startswith(("0x", "0X")):
            return self.address_of(value)
        try:
            party = self.ctx.parties.get(value)
        except NotFoundError:
            party = None
        if party is None or party.role != "factory" or not party.address:
            raise NotFoundError(f"no factory named {value[:80]!r} (give a factory party's name or its 0x address)")
        return party.address

    def factory_for(self, party: PartyInfo, factory: str | None = None, access_log: str | None = None) -> str:
        """Whose access log ``party`` asks for (the edges' one rule), as a factory address: a
        factory its own (naming another is "no such access log", as a missing one); an auditor or
        a lender the one named by ``factory`` (a factory's name or address) or ``access_log``
        (its on-chain id, as a receipt names it). Which entries a lender may see is ``proof_for``'s
        rule; which roles may list at all is the edge's."""
        if factory is not None and access_log is not None:
            raise InvalidArgumentError("name the factory or the access log, not both")
        if access_log is not None:
            named = self.by_log_id(access_log)
        elif factory is not None:
            named = self.factory(factory)
        else:
            named = None
        if party.role == "factory":
            own = self.address_of(party)
            if named is not None and named.lower() != own.lower():
                raise NotFoundError("no such access log")
            return own
        if named is None:
            raise InvalidArgumentError("name the factory whose access log you ask for (factory=NAME or ADDRESS)")
        return named

    def by_log_id(self, log_id: str) -> str:
        """The factory address of the access log with on-chain id ``log_id`` (0x hex)."""
        try:
            wanted = bytes.fromhex(log_id[2:]) if log_id[:2] == "0x" and len(log_id) == 66 else None
        except ValueError:
            wanted = None
        if wanted is None:
            raise InvalidArgumentError("access_log must be 0x and 64 hex digits")
        info = self.ctx.store.find_by_log_id(wanted)
        if info is None or not is_reserved(info.stream):
            raise NotFoundError("no such access log")
        return self.address_of(info.stream.split("/", 1)[1])

    def proof_for(self, party: PartyInfo, factory: str, index: int, size: int | None = None) -> dict:
        """``proof`` for ``party``: a lender only of an entry that names it as the reader (any
        other, a missing one, an index beyond the log or a log with no entries are all "no such
        entry": the size of the log and other lenders' reads stay hidden)."""
        if party.role != "lender":
            return self.proof(factory, index, size)
        try:  # one answer for absent and not-its-own: a lender learns nothing of others' reads
            bundle = self.proof(factory, index, size, anchored=False)
        except (NotFoundError, InvalidArgumentError):
            bundle = None
        if bundle is None or self.reader_of(bundle) != party.name:
            raise NotFoundError("no such entry")
        return self._anchored(bundle, index)

    def service_address(self) -> str:
        """The address of the service's own key (``DPL_RELAYER_KEY``): the access logs' owner on chain."""
        name = self.ctx.settings.relayer_key
        try:
            return self.ctx.keyring.info(name).address
        except NotFoundError:
            raise ConflictError(f"the service's key {name!r} (DPL_RELAYER_KEY) is not in the keyring: the access "
                                "log is bound to it, so no read through a grant can be recorded") from None

    def log(self, factory: PartyInfo | str) -> LogInfo | None:
        """The access log of ``factory``, None when nothing was recorded for it yet."""
        try:
            return self.ctx.store.get_log(access_stream(self.address_of(factory)))
        except NotFoundError:
            return None

    def _log_for_append(self, factory: PartyInfo | str) -> LogInfo:
        from ledger.chain.client import log_id_of

        stream = access_stream(self.address_of(factory))
        try:
            return self.ctx.store.get_log(stream)
        except NotFoundError:
            pass
        owner = self.service_address()
        try:
            return self.ctx.store.create_log(stream, owner, log_id_of(owner, stream))
        except ConflictError:  # another worker created it a moment ago
            return self.ctx.store.get_log(stream)

    # --- recording -----------------------------------------------------------------------

    def entry(self, *, reader_party: PartyInfo, key_prefix: str | None, grant_id: int | None, log_id: str,
              indices, fields, outcome: str = "read", reason: str | None = None) -> dict:
        """The ``dpl.access`` record of one read (not stored): checks every argument."""
        if outcome not in OUTCOMES:
            raise InvalidArgumentError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if grant_id is not None and (type(grant_id) is not int or grant_id < 0):
            raise InvalidArgumentError(f"grant_id must be an integer >= 0, not {grant_id!r}")
        if key_prefix is not None and not (isinstance(key_prefix, str) and 0 < len(key_prefix) <= 64):
            raise InvalidArgumentError("key_prefix must be a short string")
        if not (isinstance(log_id, str) and len(log_id) == 66 and log_id[:2] == "0x"):
            raise InvalidArgumentError(f"log_id must be 0x and 64 hex digits, not {str(log_id)[:80]!r}")
        if reason is not None:
            reason = str(reason)[:MAX_REASON]
        return {"id": f"access-{secrets.token_hex(16)}", "ts": self.clock(), "type": ENTRY_TYPE,
                "data": {"party": reader_party.name, "role": reader_party.role, "address": reader_party.address,
                         "key_prefix": key_prefix, "grant_id": grant_id, "log_id": log_id.lower(),
                         "records": _records(indices), "fields": _fields(fields), "outcome": outcome,
                         "reason": reason}}

    def record(self, *, factory_party: PartyInfo, reader_party: PartyInfo, key_prefix: str | None,
               grant_id: int | None, log_id: str, indices, fields, outcome: str = "read",
               reason: str | None = None) -> Receipt:
        """Append one entry to ``factory_party``'s access log (created on first use) and return its
        receipt once committed. Raises when the entry cannot be written: the read must then fail.

        ``indices``: ``(from, to)`` (an index range) or a list of indices; ``fields``: record
        type -> the ``data`` field names shown, or ``"*"``; ``outcome``: ``"read"`` or
        ``"refused"`` (with ``reason``). Safe under concurrency: the append holds the log's lock
        (``LogStore.append``), so concurrent entries get distinct indices and none is lost."""
        value = self.entry(reader_party=reader_party, key_prefix=key_prefix, grant_id=grant_id, log_id=log_id,
                           indices=indices, fields=fields, outcome=outcome, reason=reason)
        info = self._log_for_append(factory_party)
        result = self.ctx.store.append(info.stream, [(1, value)])
        if result.appended != 1:
            raise InvariantError("an access log entry was not appended")
        index = result.size - 1  # read under the log's lock in the append's transaction: ours
        sealed = next(self.ctx.store.iter_sealed(info.stream, index, index + 1))
        return Receipt(to_hex(info.log_id), index, to_hex(sealed.leaf_hash))

    # --- listing and proving ----------------------------------------------------------------

    def entries(self, factory: PartyInfo | str, start: int = 0, end: int | None = None) -> list[dict]:
        """Entries ``[start, end)`` of the factory's access log (at most ``MAX_PAGE``), each
        ``{"index", "id", "ts", "leaf_hash", **data}``; [] when it has none."""
        info = self.log(factory)
        if info is None:
            return []
        if start < 0:
            raise InvalidArgumentError("start must be >= 0")
        end = info.size if end is None else min(end, info.size)
        end = min(end, start + MAX_PAGE)
        return [{"index": r.index, "id": r.record["id"], "ts": r.record["ts"], "leaf_hash": to_hex(r.leaf_hash),
                 **r.record["data"]} for r in self.ctx.store.iter_records(info.stream, start, end)]

    def _existing(self, factory: PartyInfo | str) -> LogInfo:
        info = self.log(factory)
        if info is None:
            raise NotFoundError("no access log: nothing was read through a grant of this factory yet")
        return info

    def proof(self, factory: PartyInfo | str, index: int, size: int | None = None, *,
              anchored: bool = True) -> dict:
        """A ``dpl-proof/1`` bundle of entry ``index``: against ``size`` when given, else the
        newest anchored checkpoint covering it. With ``anchored`` (the default) an entry no
        anchored checkpoint covers yet is ``ConflictError`` ("not anchored yet")."""
        from ledger.service.proofs import Proofs

        info = self._existing(factory)
        bundle = Proofs(self.ctx.store).record_bundle(info.stream, index, size)
        return self._anchored(bundle, index) if anchored else bundle

    @staticmethod
    def _anchored(bundle: dict, index: int) -> dict:
        if bundle["anchor"] is None:
            raise NotAnchoredYet(f"entry {index} is not covered by an anchored checkpoint yet: ask again after the "
                                 "next anchoring round")
        return bundle

    def reader_of(self, bundle: dict) -> str:
        """The party name the entry of a ``proof`` bundle names as its reader."""
        return bundle["entries"][0]["record"]["data"]["party"]

    def consistency(self, factory: PartyInfo | str, old: int, new: int | None = None) -> dict:
        """A ``dpl-consistency/1`` bundle of the factory's access log from ``old`` to ``new``."""
        from ledger.service.proofs import Proofs

        return Proofs(self.ctx.store).consistency_bundle(self._existing(factory).stream, old, new)


    # --- verifying against the chain ------------------------------------------------------

    def streams(self, factory: PartyInfo | str | None = None) -> list[LogInfo]:
        """The access logs (of ``factory`` only, when given), by stream name."""
        if factory is not None:
            info = self.log(factory)
            return [info] if info is not None else []
        return [i for i in self.ctx.store.list_logs() if is_reserved(i.stream)]

    def verify(self, rpc_url: str | None = None, registry: str | None = None,
               factory: PartyInfo | str | None = None) -> list[LogCheck]:
        """Check each access log (of ``factory``, or all) against the chain through the registry
        this verifier trusts (``registry``, else the pinned deployment record): the registry holds
        our code; the log's factory on chain is the service's address the log is bound to and the
        log id is that address's stream; at every size the registry holds a checkpoint of (our
        anchored sizes and the registry's latest), its root is ours; each anchored checkpoint is
        proven consistent with the one before (RFC 9162, against the chain's roots); and every
        entry below the newest anchored size, its leaf recomputed from its salt and bytes, is
        proven included under the chain's root at that size."""
        from ledger import merkle
        from ledger.chain.check import factory_check, read_factory, registry_check
        from ledger.chain.client import Chain
        from ledger.chain.deploy import trusted_registry
        from ledger.store.anchors import FINAL, INCLUDED, AnchorStore

        chain = Chain(rpc_url or self.ctx.settings.rpc_url)
        trusted = trusted_registry(chain.chain_id, self.ctx.settings.home, registry)
        chain.use_registry(trusted.address)
        code = registry_check(chain, trusted)
        if not code.ok:
            raise InvalidArgumentError(code.detail)
        fns, store = chain.registry.functions, self.ctx.store
        out = []
        for info in self.streams(factory):
            report = LogCheck(info.stream, to_hex(info.log_id) if info.log_id else None, info.size)
            out.append(report)
            bound = store.factory_of(info.stream)
            on_chain, listing = read_factory(chain, info.log_id)
            check = factory_check(info.log_id, info.stream, on_chain, listing)
            if not check.ok or on_chain.lower() != (bound or "").lower():
                report.failures.append(check.detail if not check.ok else
                                       f"the registry names {on_chain} as the log's owner, not the service's {bound}")
                continue
            report.owner = on_chain
            sizes = {r.size for r in AnchorStore(store.engine).all_for_log(info.pk) if r.state in (INCLUDED, FINAL)}
            latest = chain.call(fns.latestCheckpoint(info.log_id).call)[0]
            if latest:
                sizes.add(latest)
            roots = {}
            for size in sorted(sizes):
                root = bytes(chain.call(fns.rootAt(info.log_id, size).call))
                if root == bytes(32):
                    continue  # our row says anchored, the chain holds nothing there (a reorg?): not counted
                if size > info.size:
                    report.failures.append(f"the registry holds a checkpoint of size {size}, beyond our {info.size}")
                    continue
                if bytes(root) != store.root_at(info.stream, size):
                    report.failures.append(f"the registry's root at size {size} is {to_hex(bytes(root))}, not ours")
                    continue
                roots[size] = bytes(root)
            anchored = sorted(roots)
            report.checkpoints = len(anchored)
            for old, new in zip(anchored, anchored[1:]):
                p = store.consistency_proof(info.stream, old, new)
                try:
                    merkle.verify_consistency(old, new, p.proof, roots[old], roots[new])
                    report.consistent += 1
                except merkle.ProofError as e:
                    report.failures.append(f"checkpoint {new} is not consistent with checkpoint {old}: {e}")
            if not anchored:
                report.unanchored = info.size
                continue
            top = anchored[-1]
            for r in store.iter_sealed(info.stream, 0, top):
                try:  # the leaf recomputed from the entry's salt and bytes, not the stored hash
                    salt, canonical = store.key.open(r.leaf_hash, r.sealed)
                    leaf = merkle.leaf_hash(salt + canonical)
                except LedgerError as e:
                    report.failures.append(f"entry {r.index} cannot be read: {e}")
                    continue
                p = store.inclusion_proof(info.stream, r.index, top)
                try:
                    merkle.verify_inclusion(leaf, r.index, top, p.proof, roots[top])
                    report.included += 1
                except merkle.ProofError as e:
                    report.failures.append(f"entry {r.index} is not included under the anchored root at size {top}: {e}")
            report.unanchored = info.size - top
        return out


@dataclass
class LogCheck:
    """What ``AccessLog.verify`` found for one access log."""

    stream: str
    log_id: str | None
    size: int
    owner: str | None = None
    checkpoints: int = 0  # anchored checkpoints whose root is ours
    consistent: int = 0  # consecutive anchored checkpoints proven consistent
    included: int = 0  # entries proven included under the newest anchored root
    unanchored: int = 0  # entries no anchored checkpoint covers yet
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"stream": self.stream, "log_id": self.log_id, "size": self.size, "owner": self.owner,
                "checkpoints": self.checkpoints, "consistent": self.consistent, "included": self.included,
                "unanchored": self.unanchored, "failures": list(self.failures)}


def check_receipt(receipt: object, bundle: dict) -> dict:
    """The entry a receipt names, from a ``dpl-proof/1`` bundle that verified offline
    (``ledger.bundles.verify``): the bundle is of an access log (its stream), proves exactly one
    entry, at the receipt's index, with the receipt's leaf hash, in the receipt's access log,
    and that entry is a ``dpl.access`` record. Returns the entry's record; ``BundleError``
    saying what differs otherwise. (The chain checks are ``ledger.chain.check``'s.)"""
    from ledger.errors import BundleError

    if not (isinstance(receipt, dict) and set(receipt) >= {"access_log", "index", "leaf_hash"}):
        raise BundleError("a receipt is {\"access_log\", \"index\", \"leaf_hash\"}")
    if not (isinstance(bundle.get("stream"), str) and is_reserved(bundle["stream"])):
        raise BundleError(f"the proof is of log {str(bundle.get('stream'))[:80]!r}, not of an access log")
    if str(bundle.get("log_id")).lower() != str(receipt["access_log"]).lower():
        raise BundleError(f"the proof is of log {bundle.get('log_id')}, the receipt names {receipt['access_log']}")
    entries = bundle.get("entries") or []
    if len(entries) != 1:
        raise BundleError("the proof must prove exactly the receipt's entry")
    entry = entries[0]
    if entry.get("index") != receipt["index"] or type(receipt["index"]) is not int:
        raise BundleError(f"the proof is of entry {entry.get('index')}, the receipt names {receipt['index']}")
    if str(entry.get("leaf_hash")).lower() != str(receipt["leaf_hash"]).lower():
        raise BundleError(f"entry {entry.get('index')} has leaf hash {entry.get('leaf_hash')}, the receipt names "
                          f"{receipt['leaf_hash']}")
    record = entry.get("record")
    if not isinstance(record, dict) or record.get("type") != ENTRY_TYPE:
        raise BundleError(f"entry {entry.get('index')} is not a {ENTRY_TYPE} record")
    return record


class NotAnchoredYet(ConflictError):
    """The entry is in the access log, but no anchored checkpoint covers it yet."""
