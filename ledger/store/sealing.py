"""Prepare and seal records for the log store, outside its lock (no database here).

A record's salt, leaf hash and sealed payload do not depend on its index, so validation,
canonical bytes, the keyed id digest, the leaf and the seal are made before the writer takes
the log's lock (``LogStore.append``): under the lock only the duplicate check, the indices,
the tiles and the insert remain.

``seal_chunk`` is the one pure step; ``sealed_chunks`` runs it over a stream of chunks, in this
process or, for a large input, in a pool of worker processes (``jobs``), yielding the chunks in
input order. Workers are forked: they inherit the data key in memory, so the key never goes
through a pipe, a file, argv or the environment. A pool is started only when the input holds
more than one chunk, so small batches (an API request) never pay for one.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from hashlib import sha256
from itertools import chain, islice
from typing import NamedTuple

from ledger import record2
from ledger.crypto import NONCE_SIZE, SALT_SIZE, DataKey
from ledger.errors import RecordError
from ledger.leaves import RECORD_V1, RECORD_V2, check_record_format
from ledger.records import parse_json_line, prepare_record
from ledger.sources import jsonl_block_lines

DEFAULT_CHUNK = 2000
#: ``raw`` for input in ``sources.read_jsonl_blocks`` blocks (one block per chunk).
BLOCKS = "blocks"
_LEAF_PREFIX = b"\x00"


class SealedRecord(NamedTuple):
    """A record ready for the log: everything but its index (``seal_chunk`` makes plain tuples
    of these fields, in this order)."""

    position: int
    record_id: str
    #: ``DataKey.id_digest(record_id)``: the only form of the id the database holds.
    digest: bytes
    #: SHA-256 of the canonical bytes: what duplicates are compared by (same id, same content).
    content: bytes
    leaf: bytes
    sealed: bytes


def seal_chunk(key: DataKey, record_format: str, items: list[tuple[int, object]],
               raw: bool | str = False) -> list[tuple]:
    """Validate, canonicalise, hash and seal ``items`` ``(position, value)`` (``raw``: the value
    is a JSONL line, parsed here as ``sources.read_jsonl`` parses it; ``raw="blocks"``: the items
    are ``sources.read_jsonl_blocks`` blocks of such lines). ``RecordError`` names the first bad
    record of the chunk."""
    if raw == BLOCKS:
        items = [line for first, block in items for line in jsonl_block_lines(first, block)]
    v2 = record_format == RECORD_V2
    if not v2 and record_format != RECORD_V1:
        check_record_format(record_format)
    id_digest, seal = key.id_digest, key.seal
    leaf_data_v2 = record2.leaf_data_v2_from_canonical
    step = SALT_SIZE + NONCE_SIZE
    randomness = os.urandom(step * len(items))
    out = []
    append = out.append
    for i, (position, value) in enumerate(items):
        if raw:
            value = parse_json_line(value, position)
        rec = prepare_record(value, position)
        canonical = rec.canonical
        off = i * step
        salt = randomness[off:off + SALT_SIZE]
        body = salt + canonical
        # v2: the leaf from the canonical bytes, as every rebuild from the stored bytes makes it
        leaf = sha256(_LEAF_PREFIX + (leaf_data_v2(canonical, salt) if v2 else body)).digest()
        append((position, rec.record_id, id_digest(rec.record_id), sha256(canonical).digest(),
                leaf, seal(leaf, body, randomness[off + SALT_SIZE:off + step])))
    return out  # plain tuples (SealedRecord's fields): they cross a process pipe cheaply


def chunks(values: Iterable, size: int) -> Iterator[list]:
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def default_jobs() -> int:
    return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def sealed_chunks(key: DataKey, record_format: str, values: Iterable[tuple[int, object]], *,
                  raw: bool | str = False, jobs: int = 1, chunk_size: int = DEFAULT_CHUNK
                  ) -> Iterator[tuple[int, list[tuple]]]:
    """``(records consumed, sealed chunk)`` for each chunk of ``values``, in input order.

    ``jobs > 1``: ``jobs`` processes work on it: ``jobs - 1`` forked workers seal chunks ahead
    of the consumer (the writer), and the consumer seals the next chunk itself whenever the one
    it waits for is not ready, so no core idles whatever the split between sealing and writing.
    At most ``5 * jobs`` chunks are in flight (memory stays bounded by them). The first
    ``RecordError`` in input order is raised, as the serial path raises it."""
    source = chunks(values, 1 if raw == BLOCKS else chunk_size)
    first = next(source, None)
    if first is None:
        return
    second = next(source, None)
    if jobs <= 1 or second is None or not can_fork():
        for chunk in chain([first], [second] if second is not None else [], source):
            sealed = seal_chunk(key, record_format, chunk, raw)
            yield len(sealed) if raw == BLOCKS else len(chunk), sealed
        return
    workers = jobs - 1
    ahead, limit = 4 * workers, 4 * workers + jobs
    # The executor hands chunks and results over in a thread of this process: a short GIL switch
    # interval lets it do so while the writer runs Python, so the workers do not wait for work.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 0.0005))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_init_worker, initargs=(key, record_format, raw))
    source = chain([first, second], source)
    pending: deque = deque()  # (records, a Future, or the chunk sealed here), in input order
    submitted = 0  # futures in ``pending``
    try:
        while True:
            while submitted < ahead and len(pending) < limit and (chunk := next(source, None)) is not None:
                pending.append((len(chunk), pool.submit(_seal_in_worker, chunk)))
                submitted += 1
            if not pending:
                return
            n, head = pending[0]
            if isinstance(head, Future) and not head.done() and len(pending) < limit:
                chunk = next(source, None)
                if chunk is not None:  # the writer would wait: it seals the next chunk meanwhile
                    pending.append((len(chunk), _seal_here(key, record_format, chunk, raw)))
                    continue
            pending.popleft()
            if isinstance(head, Future):
                submitted -= 1
                head = head.result()
            head = _unwrap(head)
            yield len(head) if raw == BLOCKS else n, head
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        sys.setswitchinterval(switch)


def _seal_here(key, record_format, chunk, raw):
    """``seal_chunk`` in the writer, its error kept for its turn in input order."""
    try:
        return seal_chunk(key, record_format, chunk, raw)
    except RecordError as e:
        return _RecordErrorFields(e.position, e.record_id, e.field, e.reason, e.unit)


# --- in the worker processes ------------------------------------------------------------------

_worker: dict = {}


def _init_worker(key: DataKey, record_format: str, raw: bool) -> None:
    # Forked: ``key`` is the parent's object, inherited in memory (never pickled).
    _worker.update(key=key, record_format=record_format, raw=raw)


def _seal_in_worker(chunk):
    try:
        return seal_chunk(_worker["key"], _worker["record_format"], chunk, _worker["raw"])
    except RecordError as e:  # its constructor takes named fields: carry them, not the object
        return _RecordErrorFields(e.position, e.record_id, e.field, e.reason, e.unit)


class _RecordErrorFields(NamedTuple):
    position: int | None
    record_id: str | None
    field: str | None
    reason: str
    unit: str


def _unwrap(result):
    if isinstance(result, _RecordErrorFields):
        raise RecordError(result.position, result.record_id, result.field, result.reason, unit=result.unit)
    return result
