"""Logs: the use cases of ``dpl log …``/``dpl ingest`` and ``/v1/logs`` in one home.

- **create**: a log bound to a factory address gets its on-chain id
  ``log_id_of(factory, stream)`` at once (``create``); the command line names the factory by a
  keyring key (``create_with_key``; unbound logs are bound at their first anchor), the service
  by the calling party (``create_for_party``: the stream is namespaced ``<party>/<stream>`` so
  names neither collide nor reveal another factory's, and the party is recorded as the owner);
- **see**: a factory party sees only the logs it owns; any other reader (the auditor, the local
  operator of ``dpl``) sees every log (``may_see``, ``visible_to``, ``by_log_id``);
- **ingest**: records read from a source (``read``) appended all or nothing, idempotent by
  record id (``ingest``);
- **checkpoints** with the state of their anchors; the checkpoint a wallet factory signs and
  the signatures it hands in; activity counts; leaf hashes.

Proof bundles are ``ledger.service.proofs``; anchoring runs are ``ledger.service.anchoring``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ledger import sources
from ledger.bundles import to_hex
from ledger.leaves import RECORD_V1, check_record_format
from ledger.errors import ConflictError, InvalidArgumentError, NotFoundError, RecordError
from ledger.pledge.terms import SignatureMismatch
from ledger.records import parse_json_line
from ledger.service.context import Context
from ledger.store.activity import Activity, RecordActivity
from ledger.store.anchors import AnchorStore
from ledger.store.sealing import BLOCKS
from ledger.store.logstore import AppendResult, FoundLog, LogInfo, SealedBatch, validate_stream_name
from ledger.store.parties import PartyInfo


class NoFactoryAddress(ConflictError):
    """A factory party without a chain address cannot own a log (its id needs the address)."""


class CheckpointSignatureMismatch(SignatureMismatch):
    """A checkpoint (``field="signature"``) or RegisterLog (``field="register_signature"``)
    signature that does not recover to the log's factory."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LogView:
    """A log as its readers see it: the stored log and the factory address it is bound to."""

    pk: int
    stream: str
    log_id: bytes | None
    size: int
    root: bytes
    factory: str | None
    #: ``dpl-record/1`` or ``dpl-record/2`` (``ledger.leaves``).
    record_format: str = RECORD_V1


@dataclass(frozen=True)
class CheckpointAnchor:
    state: str
    tx_hash: bytes
    block_number: int | None
    chain_id: int
    registry: str

    def as_json(self) -> dict:
        return {"state": self.state, "tx_hash": to_hex(self.tx_hash), "block_number": self.block_number,
                "chain_id": self.chain_id, "registry": self.registry}


@dataclass(frozen=True)
class CheckpointView:
    """A checkpoint of the log (its size and root after an append) and its anchor, if any."""

    size: int
    root: bytes
    anchor: CheckpointAnchor | None

    def as_json(self) -> dict:
        return {"size": self.size, "root": to_hex(self.root),
                "anchor": self.anchor.as_json() if self.anchor else None}


def read_json_array(source: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, object]]:
    """``(position, record)`` of a JSON array of records, read strictly as an NDJSON line is
    (``records.parse_json_line``: orjson alone would keep the last of duplicate keys and turn
    integers beyond 64 bits into floats, silently). Errors name the record's 1-based position."""
    body = source.read()
    if on_bytes:
        on_bytes(len(body))
    try:
        values = parse_json_line(body, None)
    except RecordError as e:
        at = re.fullmatch(r"\[(\d+)\](?:\.(.*))?", e.field or "")
        if at:
            raise RecordError(int(at[1]) + 1, None, at[2], e.reason) from None
        raise RecordError(None, None, e.field, f"the body is not JSON: {e.reason}") from None
    if not isinstance(values, list):
        raise RecordError(None, None, None, "the body must be a JSON array of records (or NDJSON)")
    return enumerate(values, 1)


#: How records may be read: ``dpl ingest --format`` offers ``ledger.sources``' readers (jsonl,
#: csv), the API's bodies are jsonl (NDJSON) or json (an array). One reader per format, so a bad
#: line reads the same anywhere.
READERS: dict[str, Callable[..., Iterator[tuple[int, object]]]] = {**sources.READERS, "json": read_json_array}


class Logs:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def store(self):
        return self.ctx.store

    # --- creating ---------------------------------------------------------------------------

    def create(self, stream: str, factory: str | None = None, owner: int | None = None,
               record_format: str = RECORD_V1) -> LogInfo:
        """An empty log for ``stream``; bound now to ``factory`` (an address) with its on-chain id
        ``keccak256(abi.encode(factory, stream))``, or (None) at its first anchor; owned by party
        id ``owner`` when given (in the same transaction); its records made in ``record_format``
        (``dpl-record/1`` or ``dpl-record/2``, for good)."""
        from ledger.chain.client import log_id_of
        from ledger.service.access_log import refuse_reserved

        validate_stream_name(stream)
        check_record_format(record_format)
        refuse_reserved(stream, "create")
        log_id = log_id_of(factory, stream) if factory else None
        return self.store.create_log(stream, factory, log_id, owner=owner, record_format=record_format)

    def create_with_key(self, stream: str, key: str | None, record_format: str = RECORD_V1) -> LogInfo:
        """``dpl log create [--factory KEY] [--format F]``: bound to the address of keyring key ``key``."""
        check_record_format(record_format)  # before the keyring is asked
        return self.create(stream, self.ctx.keyring.info(key).address if key else None,
                           record_format=record_format)

    def create_for_party(self, party: PartyInfo, stream: str, record_format: str = RECORD_V1) -> LogInfo:
        """A factory party's log ``<party>/<stream>``, bound to its address and owned by it."""
        check_record_format(record_format)
        if not party.address:
            raise NoFactoryAddress("this factory party has no chain address (an admin sets it)")
        return self.create(f"{party.name}/{stream}", party.address, owner=party.id, record_format=record_format)

    # --- seeing -----------------------------------------------------------------------------

    def may_see(self, party: PartyInfo | None, info: LogInfo) -> bool:
        """A factory party sees the logs it owns; any other reader (None: the local operator)
        every log. (Which roles may read logs at all is the edge's role check.)"""
        return party is None or party.role != "factory" or self.ctx.parties.owner_of(info.pk) == party.id

    def visible_to(self, party: PartyInfo | None = None) -> list[LogView]:
        """The logs ``party`` may see, by stream name."""
        logs = self.store.list_logs()
        if party is not None and party.role == "factory":
            mine = self.ctx.parties.logs_of(party.id)
            logs = [i for i in logs if i.pk in mine]
        return [self.view(i) for i in logs]

    def by_log_id(self, log_id: bytes, party: PartyInfo | None = None) -> LogInfo:
        """The log with on-chain id ``log_id`` that ``party`` may see; ``NotFoundError`` ("no such
        log") whether it is absent or not theirs, so the answer tells nobody which ids exist."""
        return self.find_by_log_id(log_id, party).info

    def find_by_log_id(self, log_id: bytes, party: PartyInfo | None = None,
                       anchored: tuple[int, int | None] | None = None) -> FoundLog:
        """``by_log_id`` with, for ``anchored=(above, size)``, the newest anchored checkpoint
        ``AnchorStore.newest_anchored`` finds, read in the same round trip."""
        found = self.store.find_by_log_id_with_owner(log_id, anchored)
        if found is None or not _may_see(party, found.owner):
            raise NotFoundError("no such log")
        return found

    def get(self, stream: str) -> LogInfo:
        """The log named ``stream`` (``NotFoundError`` naming how to create it)."""
        return self.store.get_log(stream)

    def view(self, info: LogInfo | str) -> LogView:
        """The log (or the log named ``info``) with its factory address."""
        if isinstance(info, str):
            info = self.store.get_log(info)
        return LogView(info.pk, info.stream, info.log_id, info.size, info.root, self.store.factory_of(info.stream),
                       info.record_format)

    # --- ingesting --------------------------------------------------------------------------

    @staticmethod
    def read(source: BinaryIO, fmt: str, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, object]]:
        """The records of ``source`` in format ``fmt`` (``READERS``), lazily: ``(position, value)``."""
        if fmt not in READERS:
            raise InvalidArgumentError(f"format must be one of {', '.join(READERS)}, not {fmt!r}")
        return READERS[fmt](source, on_bytes)

    def ingest(self, stream: str, records: Iterable[tuple[int, object]], *,
               on_duplicate: Callable[[int, str, int], None] | None = None,
               on_progress: Callable[[int], None] | None = None) -> AppendResult:
        """Append ``records`` to ``stream`` in one transaction: all or nothing (a bad record or
        an id stored with other content stores nothing), idempotent by record id (a record
        already stored is reported to ``on_duplicate`` with its index, not stored again).
        An access log (``ledger.service.access_log``) is refused: only the service appends to it."""
        from ledger.service.access_log import refuse_reserved

        refuse_reserved(stream, "append to")
        return self.store.append(stream, records, on_duplicate=on_duplicate, on_progress=on_progress)

    def seal(self, info: LogInfo, records: Iterable[tuple[int, object]], *, raw: bool = False) -> SealedBatch:
        """The first half of ``ingest``, without the log's lock: ``records`` validated and sealed
        for the log ``info`` (``RecordError`` for a bad one; nothing is written). ``raw``: the
        records are NDJSON lines ``(line number, bytes)``, read as ``read`` reads them."""
        from ledger.service.access_log import refuse_reserved

        refuse_reserved(info.stream, "append to")
        return self.store.seal(info.stream, records, raw=raw, record_format=info.record_format)

    def ingest_sealed(self, info: LogInfo, batches: Iterable[SealedBatch], *,
                      on_duplicate: Callable[[int, str, int], None] | None = None) -> AppendResult:
        """The second half: write what ``seal`` made, in order, as ``ingest`` writes (one
        transaction under the log's lock: all or nothing, idempotent by record id)."""
        from ledger.service.access_log import refuse_reserved

        refuse_reserved(info.stream, "append to")
        return self.store.append_sealed(info.stream, info.record_format,
                                        (chunk for batch in batches for chunk in batch.chunks),
                                        on_duplicate=on_duplicate)

    def ingest_file(self, stream: str, source: BinaryIO, fmt: str, *, jobs: int = 1,
                    on_bytes: Callable[[int], None] | None = None,
                    on_duplicate: Callable[[int, str, int], None] | None = None,
                    on_progress: Callable[[int], None] | None = None) -> AppendResult:
        """``ingest`` of the records of ``source`` in format ``fmt``, prepared and sealed by
        ``jobs`` worker processes while one writer keeps the order and the transaction (a pool
        starts only for an input of more than one chunk). JSONL lines are parsed in the workers
        too; a bad line is named as ``read`` names it."""
        from ledger.service.access_log import refuse_reserved

        if fmt not in READERS:
            raise InvalidArgumentError(f"format must be one of {', '.join(READERS)}, not {fmt!r}")
        if jobs < 1:
            raise InvalidArgumentError(f"jobs must be at least 1, not {jobs}")
        refuse_reserved(stream, "append to")
        if fmt == "jsonl":  # read in blocks of lines: the writer does no work per line
            records, raw = sources.read_jsonl_blocks(source, on_bytes), BLOCKS
        else:
            records, raw = READERS[fmt](source, on_bytes), False
        return self.store.append(stream, records, on_duplicate=on_duplicate, on_progress=on_progress,
                                 jobs=jobs, raw=raw)

    # --- checkpoints --------------------------------------------------------------------------

    def checkpoints(self, info: LogInfo) -> list[CheckpointView]:
        """Every checkpoint of the log, oldest first, each with its anchor (any chain or
        registry the rows name) or None."""
        anchors = {row.size: CheckpointAnchor(row.state, row.tx_hash, row.block_number, row.chain_id, row.registry)
                   for row in AnchorStore(self.store.engine).all_for_log(info.pk)}
        return [CheckpointView(size, root, anchors.get(size)) for size, root in self.store.checkpoints(info.stream)]

    def _bound_factory(self, info: LogInfo) -> str:
        factory = self.store.factory_of(info.stream)
        if factory is None or info.log_id is None:
            raise ConflictError("this log is not bound to a factory address yet")
        return factory

    @staticmethod
    def _checkpoint_document(chain, info: LogInfo, size: int, root: bytes) -> dict:
        from ledger.chain.client import CHECKPOINT_TYPES

        return chain.typed_data(CHECKPOINT_TYPES, {"logId": info.log_id, "size": size, "root": root})

    @staticmethod
    def _register_document(chain, info: LogInfo, factory: str) -> dict:
        from ledger.chain.client import REGISTER_LOG_TYPES

        return chain.typed_data(REGISTER_LOG_TYPES, {"factory": factory, "stream": info.stream})

    def checkpoint_to_sign(self, info: LogInfo) -> dict:
        """What a factory signs with its own wallet to have the log's newest checkpoint anchored:
        ``{"size", "root", "factory", "checkpoint": EIP-712 Checkpoint, "register": EIP-712
        RegisterLog until the log is registered on chain, else None}``."""
        from ledger.pledge.chain import factory_of

        if info.size == 0:
            raise ConflictError("the log is empty: there is no checkpoint to sign")
        factory, chain = self._bound_factory(info), self.ctx.chain()
        registered = factory_of(chain, info.log_id) is not None
        return {"size": info.size, "root": to_hex(info.root), "factory": factory,
                "checkpoint": self._checkpoint_document(chain, info, info.size, info.root),
                "register": None if registered else self._register_document(chain, info, factory)}

    def hand_in_signatures(self, info: LogInfo, size: int, signature: bytes,
                           register_signature: bytes | None = None) -> dict:
        """Keep the factory's signature of the checkpoint at ``size`` (and of RegisterLog) for the
        anchorer, once each recovers to the log's factory; nothing is kept when one does not
        (``CheckpointSignatureMismatch`` naming the field). ``{"size", "root", "register"}``."""
        from ledger.store.signatures import CHECKPOINT, REGISTER, FactorySignatures

        if not 1 <= size <= info.size:
            raise InvalidArgumentError(f"size {size} is beyond the log's {info.size} records" if size > info.size
                                       else f"size {size} is not a checkpoint (sizes start at 1)")
        factory, chain = self._bound_factory(info), self.ctx.chain()
        root = self.store.root_at(info.stream, size)
        # (kind, size, root, signature, the document it must sign, the field it came in)
        signed = [(CHECKPOINT, size, root, signature, self._checkpoint_document(chain, info, size, root), "signature")]
        if register_signature is not None:
            signed.append((REGISTER, 0, None, register_signature, self._register_document(chain, info, factory),
                           "register_signature"))
        for kind, _, _, sig, document, field in signed:
            signer = chain.recover_typed_data(document, sig)
            if signer is None or signer.lower() != factory.lower():
                raise CheckpointSignatureMismatch(f"the {kind} signature is not the log's factory's ({factory})", field)
        kept = FactorySignatures(self.store.engine)
        for kind, size_, root_, sig, _, _ in signed:
            kept.put(info.pk, kind, size_, root_, sig)
        return {"size": size, "root": to_hex(root), "register": register_signature is not None}

    # --- what a log holds, without payloads ---------------------------------------------------

    def activity(self, info: LogInfo, last: int) -> Activity:
        """Records per UTC day and ``type`` over the newest ``last`` records: counts only."""
        return RecordActivity(self.store).newest(info.stream, info.size, last)

    def leaf_hashes(self, info: LogInfo, start: int, limit: int) -> list[bytes]:
        """The leaf hashes of ``[start, start + limit)`` (fewer at the log's end, none beyond)."""
        return [r.leaf_hash for r in self.store.iter_sealed(info.stream, start, min(info.size, start + limit))]


def _may_see(party: PartyInfo | None, owner: int | None) -> bool:
    """``Logs.may_see`` given the log's owner (party id, None: no owner row)."""
    return party is None or party.role != "factory" or owner == party.id
