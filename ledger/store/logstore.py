"""The log store: append-only production logs with persisted Merkle tiles.

- ``append`` adds a batch of records atomically (one transaction: all or nothing),
  idempotent by record id, streaming in chunks so memory stays flat whatever the batch
  size. Indices are sequential and given once, durably, at commit.
- Roots and proofs for any index and any earlier size come from stored tiles
  (``ledger.tiles``): O(log n) reads, no scan.
- Payloads and salts are sealed (``ledger.crypto``); the store keeps only hashes in clear.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256

from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from ledger import merkle, tiles
from ledger.crypto import DataKey
from ledger.leaves import RECORD_V1, check_record_format, leaf_hash_of
from ledger.errors import (
    ConflictError,
    DataKeyError,
    InvalidArgumentError,
    InvariantError,
    NotFoundError,
)
from ledger.records import record_from_canonical
from ledger.settings import Settings
from ledger.store import db, sealing
from ledger.store.anchors import AnchorRow, anchor_columns, anchor_of, newest_anchored_id
from ledger.store.models import Anchor, Checkpoint, Log, LogOwner, Meta, Record, utcnow
from ledger.store.sealing import DEFAULT_CHUNK
from ledger.store.sealing import SealedRecord as SealedInput

_STREAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_STREAM_LENGTH = 200
_KEY_CHECK = "data_key_check"


def validate_stream_name(stream: str) -> str:
    if not (0 < len(stream) <= MAX_STREAM_LENGTH and _STREAM.fullmatch(stream)):
        raise InvalidArgumentError(
            f"invalid stream name {stream!r}: use letters, digits, '.', '_', '-' in "
            "'/'-separated parts, e.g. 'line-a/telemetry'"
        )
    return stream


@dataclass(frozen=True)
class LogInfo:
    pk: int
    stream: str
    log_id: bytes | None
    size: int
    root: bytes
    #: ``dpl-record/1`` or ``dpl-record/2`` (``ledger.leaves``), fixed at creation.
    record_format: str = RECORD_V1


@dataclass(frozen=True)
class FoundLog:
    info: LogInfo
    #: The party id of the log's owner (None: no owner row, a log made by the CLI).
    owner: int | None
    #: The newest anchored checkpoint asked for (``LogStore.find_by_log_id_with_owner``), or None.
    anchor: AnchorRow | None = None


@dataclass(frozen=True)
class AppendResult:
    appended: int
    duplicates: int
    size: int
    root: bytes


@dataclass(frozen=True)
class SealedBatch:
    """Records sealed for a log of ``record_format`` (``LogStore.seal``), not yet written."""

    record_format: str
    chunks: list[tuple[int, list[tuple]]]

    def __iter__(self):
        return iter((self.record_format, self.chunks))


@dataclass(frozen=True)
class StoredRecord:
    index: int
    record: dict
    salt: bytes
    leaf_hash: bytes
    canonical: bytes


@dataclass(frozen=True)
class SealedRecord:
    index: int
    leaf_hash: bytes
    sealed: bytes


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    root: bytes
    leaf_hash: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]


#: Called once per record that was already stored: (position, record id, existing index).
OnDuplicate = Callable[[int, str, int], None]
#: Called after each chunk with the number of input records consumed so far.
OnProgress = Callable[[int], None]


class LogStore:
    """Logs, records, tiles and checkpoints in one SQL database."""

    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key
        self._sqlite = db.is_sqlite(engine)
        self._ph = ph = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._select_log = select(*_LOG_COLUMNS).where(
            Log.stream == bindparam("stream")
        )
        self._insert_records_sql = (
            f"INSERT INTO records (log_pk, idx, id_digest, leaf_hash, sealed) "
            f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph})"
        )
        self._insert_new_records_sql = self._insert_records_sql + " ON CONFLICT (log_pk, id_digest) DO NOTHING"
        self._upsert_tile_sql = (
            f"INSERT INTO tiles (log_pk, level, idx, hashes) VALUES ({ph}, {ph}, {ph}, {ph}) "
            "ON CONFLICT (log_pk, level, idx) DO UPDATE SET hashes = excluded.hashes"
        )

    @classmethod
    def open(cls, settings: Settings) -> LogStore:
        """Open (creating and migrating if needed) the store ``settings`` name."""
        engine = db.make_engine(settings.resolved_database_url(), settings.sqlite_busy_timeout)
        def load_key() -> DataKey:
            return DataKey.load(settings.data_key.get_secret_value() if settings.data_key else None, settings.home)

        try:
            db.migrate(engine, load_key)  # loads the key only if a migration seals stored rows
            key = load_key()
            store = cls(engine, key)
            store._check_data_key()
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    # --- the data key ---------------------------------------------------------------

    def _check_data_key(self) -> None:
        """Refuse a key other than the one this database was sealed with.

        Reads without the write lock (a long ingest must not block readers); only the very
        first open of a database writes the check value.
        """
        select_check = select(Meta.value).where(Meta.key == _KEY_CHECK)
        with self.engine.connect() as conn:
            stored = conn.execute(select_check).scalar()
        if stored is None:
            with db.write_transaction(self.engine) as conn:
                stored = conn.execute(select_check).scalar()
                if stored is None:
                    conn.execute(Meta.__table__.insert().values(key=_KEY_CHECK, value=self.key.check_value))
                    stored = self.key.check_value
        if stored != self.key.check_value:
            raise DataKeyError(
                f"the data key from {self.key.source} is not the key this database was "
                "written with; set DPL_DATA_KEY (or DPL_HOME/data.key) to the original key"
            )

    # --- logs -------------------------------------------------------------------------

    def create_log(self, stream: str, factory_address: str | None = None,
                   log_id: bytes | None = None, owner: int | None = None,
                   record_format: str = RECORD_V1) -> LogInfo:
        """Create an empty log; bound to ``factory_address`` (and its on-chain ``log_id``)
        now, or at its first anchor; owned by party ``owner`` (a ``log_owners`` row written in
        the same transaction: never a log without the owner it was made for); its records'
        leaves made by ``record_format`` (``ledger.leaves``), for good."""
        validate_stream_name(stream)
        check_record_format(record_format)
        inserted = False
        try:
            with db.write_transaction(self.engine) as conn:
                if conn.execute(select(Log.id).where(Log.stream == stream)).first():
                    raise ConflictError(f"log {stream!r} already exists")
                conn.execute(
                    Log.__table__.insert().values(
                        stream=stream, size=0, root=merkle.EMPTY_ROOT, created_at=utcnow(),
                        factory_address=factory_address, log_id=log_id, record_format=record_format,
                    )
                )
                inserted = True
                if owner is not None:
                    pk = conn.execute(select(Log.id).where(Log.stream == stream)).scalar_one()
                    conn.execute(LogOwner.__table__.insert().values(log_pk=pk, party_id=owner))
        except IntegrityError:
            if inserted:  # the owner row was refused (no such party): nothing was kept
                raise
            raise ConflictError(f"log {stream!r} already exists") from None  # a concurrent writer made it first
        return self.get_log(stream)

    def get_log(self, stream: str, conn: Connection | None = None) -> LogInfo:
        if conn is None:
            with self.engine.connect() as c:
                return self.get_log(stream, c)
        row = conn.execute(self._select_log, {"stream": stream}).first()
        if row is None:
            raise NotFoundError(f"no log named {stream!r} (create it with: dpl log create {stream})")
        return _log_info(row)

    def bind_log(self, stream: str, factory_address: str, log_id: bytes) -> LogInfo:
        """Bind an unbound log to its factory and on-chain id (once; a bound log keeps its)."""
        with db.write_transaction(self.engine) as conn:
            log = self._lock_log(conn, stream)
            current = conn.execute(select(Log.factory_address).where(Log.id == log.pk)).scalar()
            if current is None:
                conn.execute(update(Log).where(Log.id == log.pk).values(
                    factory_address=factory_address, log_id=log_id))
            elif current.lower() != factory_address.lower():
                raise ConflictError(f"log {stream!r} is bound to factory {current} already")
        return self.get_log(stream)

    def factory_of(self, stream: str) -> str | None:
        with self.engine.connect() as conn:
            log = self.get_log(stream, conn)
            return conn.execute(select(Log.factory_address).where(Log.id == log.pk)).scalar()

    def list_logs(self) -> list[LogInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_LOG_COLUMNS).order_by(Log.stream)).all()
        return [_log_info(r) for r in rows]

    def find_by_log_id(self, log_id: bytes) -> LogInfo | None:
        """The log bound to this on-chain id, or None (an indexed lookup, not a scan)."""
        found = self.find_by_log_id_with_owner(log_id)
        return None if found is None else found.info

    def find_by_log_id_with_owner(self, log_id: bytes, anchored: tuple[int, int | None] | None = None
                                  ) -> FoundLog | None:
        """The log bound to this on-chain id with the party id of its owner, or None; with
        ``anchored=(above, size)`` also ``AnchorStore.newest_anchored(pk, above, size)``: one
        round trip (every API read of a log starts here)."""
        above, size = anchored if anchored is not None else (0, None)
        query = _find_by_log_id_query(None if anchored is None else size is not None)
        with self.engine.connect() as conn:
            r = conn.execute(query, {"log_id": log_id, "above": above, "size": size}).first()
        if r is None:
            return None
        return FoundLog(_log_info(r), r.owner, anchor_of(r, "a_") if anchored is not None else None)

    def _lock_log(self, conn: Connection, stream: str) -> LogInfo:
        # SQLite: BEGIN IMMEDIATE already holds the write lock. PostgreSQL: lock the row.
        if not self._sqlite:
            conn.execute(select(Log.id).where(Log.stream == stream).with_for_update())
        return self.get_log(stream, conn)

    # --- append -------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        values: Iterable[tuple[int, object]],
        *,
        chunk_size: int = DEFAULT_CHUNK,
        on_duplicate: OnDuplicate | None = None,
        on_progress: OnProgress | None = None,
        jobs: int = 1,
        raw: bool | str = False,
    ) -> AppendResult:
        """Append parsed records ``(position, value)`` to ``stream`` as one atomic batch.

        A record whose id is already in the log with the same canonical bytes is skipped
        (reported to ``on_duplicate`` with its existing index); the same id with other
        content raises ``ConflictError`` and nothing of the batch is stored. Invalid
        records raise ``RecordError``, likewise storing nothing.

        ``raw``: the values are JSONL lines ``(line number, bytes)``, parsed with the records
        (``sealing.BLOCKS``: ``sources.read_jsonl_blocks`` blocks of lines, split there too). ``jobs > 1``:
        records are prepared and sealed by that many worker processes while this one writes,
        in input order (``ledger.store.sealing``; a pool starts only for more than one chunk).
        """
        record_format = self.get_log(stream).record_format  # fixed at creation: read unlocked
        sealed = sealing.sealed_chunks(self.key, record_format, values, raw=raw, jobs=jobs,
                                       chunk_size=chunk_size)
        try:
            return self.append_sealed(stream, record_format, sealed, on_duplicate=on_duplicate,
                                      on_progress=on_progress)
        finally:
            sealed.close()  # stops a worker pool still running after an error

    def seal(self, stream: str, values: Iterable[tuple[int, object]], *, raw: bool = False,
             chunk_size: int = DEFAULT_CHUNK, record_format: str | None = None) -> SealedBatch:
        """Prepare and seal ``values`` for ``stream`` without taking its lock (``RecordError``
        for a bad record): ``append_sealed(stream, *batch)`` then writes them. Two writers
        seal at the same time and wait for each other only to write. ``record_format``: the
        log's, when the caller has read it already (it is fixed at creation)."""
        record_format = record_format or self.get_log(stream).record_format
        return SealedBatch(record_format, list(
            sealing.sealed_chunks(self.key, record_format, values, raw=raw, chunk_size=chunk_size)))

    def append_sealed(
        self,
        stream: str,
        record_format: str,
        sealed: Iterable[tuple[int, list[tuple]]],
        *,
        on_duplicate: OnDuplicate | None = None,
        on_progress: OnProgress | None = None,
    ) -> AppendResult:
        """Write sealed chunks ``(records consumed, records)`` (``sealing.sealed_chunks``) to
        ``stream`` under its lock, as ``append`` does: one transaction, all or nothing."""
        with db.write_transaction(self.engine) as conn:
            log = self._lock_log(conn, stream)
            if log.record_format != record_format:
                raise InvariantError(f"records sealed as {record_format} for a {log.record_format} log")
            size, appended, duplicates, consumed = log.size, 0, 0, 0
            tile_cache: dict[tiles.TileKey, bytes] = {}
            for count, chunk in sealed:
                consumed += count
                rows, dups = self._stage_chunk(conn, log.pk, size, chunk)
                for position, rid, index in dups:
                    if on_duplicate:
                        on_duplicate(position, rid, index)
                duplicates += len(dups)
                if rows:
                    self._write_chunk(conn, log.pk, size, rows, tile_cache)
                    size += len(rows)
                    appended += len(rows)
                if on_progress:
                    on_progress(consumed)
            root = log.root
            if appended:
                root = self._root_from_tiles(conn, log.pk, size, tile_cache)
                conn.execute(update(Log).where(Log.id == log.pk).values(size=size, root=root))
                conn.execute(
                    Checkpoint.__table__.insert().values(
                        log_pk=log.pk, size=size, root=root, created_at=utcnow()
                    )
                )
        return AppendResult(appended, duplicates, size, root)

    def _stage_chunk(self, conn, log_pk, size, sealed: list[tuple]):
        """Give a sealed chunk (``SealedInput`` tuples) its indices; split off records already in the log (or earlier in
        the chunk), then insert the rest.

        Returns (rows, duplicates): rows ``(log_pk, idx, id_digest, leaf, sealed)`` and
        duplicates ``(position, id, existing index)``.
        """
        rows, dups, seen = [], [], {}
        append = rows.append
        for rec in sealed:
            digest = rec[2]
            earlier = seen.get(digest)
            if earlier is not None:
                first, first_index = earlier
                if first[3] != rec[3]:
                    raise ConflictError(
                        f"record {rec[0]} (id {rec[1]!r}) conflicts with record "
                        f"{first[0]} of this batch: same id, different content; nothing "
                        "from this batch was stored"
                    )
                dups.append((rec[0], rec[1], first_index))
                continue
            index = size + len(rows)
            seen[digest] = (rec, index)
            append((log_pk, index, digest, rec[4], rec[5]))
        if not rows:
            return rows, dups
        # Fast path: insert the chunk, skipping ids already in the log. Duplicates are a normal
        # outcome, not an error (a failed statement in psycopg's executemany pipeline is logged
        # as "error ignored terminating <psycopg.Pipeline>"). The savepoint is rolled back only
        # here: after a failure SQLite may have rolled the whole transaction back (SQLITE_FULL),
        # and rolling back a savepoint that is gone would hide that error.
        savepoint = conn.begin_nested()
        inserted = self._insert_new_rows(conn, rows)
        if inserted == len(rows):
            savepoint.commit()
            return rows, dups
        savepoint.rollback()  # some ids are already in the log: sort them out below (the slow path)
        existing = self._existing_by_digest(conn, log_pk, [r[2] for r in rows])
        keep = []
        for _, _, digest, leaf, sealed_ in rows:
            found = existing.get(digest)
            if found is None:
                keep.append((digest, leaf, sealed_))
                continue
            rec = SealedInput(*seen[digest][0])
            index, old_leaf, old_sealed = found
            _, old_canonical = self.key.open(old_leaf, old_sealed)
            if sha256(old_canonical).digest() != rec.content:
                raise _conflict(rec, index)
            dups.append((rec.position, rec.record_id, index))
        # Later in-chunk duplicates pointed at provisional indices; re-point them.
        rows = [(log_pk, size + j, d, leaf, sealed_) for j, (d, leaf, sealed_) in enumerate(keep)]
        final_index = {d: size + j for j, (d, _, _) in enumerate(keep)}
        final_index.update({d: v[0] for d, v in existing.items()})
        by_id = {rec[1]: rec[2] for rec in sealed}
        dups = [(p, rid, final_index[by_id[rid]]) for p, rid, _ in dups]
        if rows:
            conn.exec_driver_sql(self._insert_records_sql, rows)
        return rows, dups

    def _insert_new_rows(self, conn, rows) -> int:
        """Insert ``rows``, skipping ids already in the log; the number inserted (fewer than
        ``len(rows)``: some ids are in the log already, and the caller rolls back its savepoint).

        One ``executemany`` (psycopg 3 pipelines it on PostgreSQL). A binary ``COPY`` after a
        one-statement id check was measured as no faster on PostgreSQL (bench/README.md, issue 16
        goals 1-2): the server's index and WAL work per row dominate, not the statements."""
        return conn.exec_driver_sql(self._insert_new_records_sql, rows).rowcount

    def _existing_by_digest(self, conn, log_pk, digests):
        found = {}
        for start in range(0, len(digests), 500):
            part = digests[start:start + 500]
            for r in conn.execute(
                select(Record.id_digest, Record.idx, Record.leaf_hash, Record.sealed).where(
                    Record.log_pk == log_pk, Record.id_digest.in_(part)
                )
            ):
                found[bytes(r.id_digest)] = (r.idx, bytes(r.leaf_hash), bytes(r.sealed))
        return found

    def _write_chunk(self, conn, log_pk, size, rows, tile_cache):
        def load(level, index):
            key = (level, index)
            if key not in tile_cache:
                tile_cache[key] = self._load_tiles(conn, log_pk, {key}).get(key, b"")
            return tile_cache[key]

        changed = tiles.extend(size, [r[3] for r in rows], load)
        tile_cache.clear()  # only the last (partial) tile of each level is needed again
        for (level, index), data in changed.items():
            if tiles.tile_width(data) < tiles.TILE_WIDTH:
                tile_cache[(level, index)] = data
        conn.exec_driver_sql(
            self._upsert_tile_sql,
            [(log_pk, level, index, data) for (level, index), data in changed.items()],
        )

    # --- reading: roots and proofs --------------------------------------------------

    def _load_tiles(self, conn, log_pk, keys) -> dict[tiles.TileKey, bytes]:
        """The given tiles, in one query (hand-written SQL: this is every proof's hot path)."""
        sql, params = self._tiles_sql(log_pk, keys)
        rows = conn.exec_driver_sql(sql, tuple(params))
        return {(level, index): bytes(blob) for level, index, blob in rows}

    def load_tiles(self, log: LogInfo, keys) -> dict[tiles.TileKey, bytes]:
        """Stored tiles of ``log`` by (tile level, index), as blobs (``ledger.tiles``): those of
        ``keys`` the store holds, 256 a query (for publishing them, ``ledger.service.publish``)."""
        keys, found = sorted(keys), {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 256):  # SQLite allows at most 500 arms in a UNION ALL
                found.update(self._load_tiles(conn, log.pk, keys[start:start + 256]))
        return found

    def _tiles_sql(self, log_pk, keys, extra: str = "") -> tuple[str, list]:
        """One point lookup per tile, joined by ``UNION ALL``: each arm searches the primary key
        (log_pk, level, idx). (An ``OR`` of (level, idx) pairs makes SQLite search by log_pk
        alone, scanning all the log's tiles: 5 ms a proof at 10^7 records instead of 0.01 ms.)"""
        ph = self._ph
        arm = f"SELECT level, idx, hashes{extra} FROM tiles WHERE log_pk = {ph} AND level = {ph} AND idx = {ph}"
        params: list = []
        for level, index in sorted(keys):
            params += (log_pk, level, index)
        return " UNION ALL ".join([arm] * len(keys)), params

    def _load_tiles_and_record(self, conn, log_pk, keys, index) -> tuple[dict[tiles.TileKey, bytes], tuple | None]:
        """``_load_tiles`` and the row ``(leaf_hash, sealed)`` of record ``index`` (None: no such
        row) in the same statement: a record with its proof is one round trip."""
        ph = self._ph
        sql, params = self._tiles_sql(log_pk, keys, extra=", NULL AS sealed")
        row_sql = f"SELECT -1, idx, leaf_hash, sealed FROM records WHERE log_pk = {ph} AND idx = {ph}"
        # the record's arm first: it types the sealed column (PostgreSQL reads the NULLs as text otherwise)
        rows = conn.exec_driver_sql(f"{row_sql} UNION ALL {sql}" if sql else row_sql, (log_pk, index, *params))
        loaded, record = {}, None
        for level, i, blob, sealed in rows:
            if level == -1:
                record = (bytes(blob), bytes(sealed))
            else:
                loaded[(level, i)] = bytes(blob)
        return loaded, record

    def record_with_proof(self, log: LogInfo, index: int, size: int | None = None
                          ) -> tuple[StoredRecord, InclusionProof]:
        """``record_at(log, index)`` and ``inclusion_proof(log, index, size)`` (the same checks,
        the same answers) in one round trip: the tiles a proof needs follow from (index, size)."""
        size = self._checked_size(log, size)
        if not 0 <= index < size:
            raise InvalidArgumentError(f"index {index} is outside a log of size {size}")
        ranges = [(index, index + 1), (0, size), *merkle.inclusion_ranges(index, size)]
        with self.engine.connect() as conn:
            loaded, row = self._load_tiles_and_record(conn, log.pk, tiles.tiles_for_ranges(ranges), index)
        if row is None:
            raise NotFoundError(f"log {log.stream!r} has no record at index {index} (size {log.size})")
        hashes = [tiles.range_hash_from_tiles(a, b, loaded) for a, b in ranges]
        stored = self._unseal(index, row[0], row[1], log.record_format)
        return stored, InclusionProof(index, size, hashes[1], hashes[0], hashes[2:])

    def _hash_ranges(self, conn, log_pk, ranges, cache=None) -> list[bytes]:
        needed = tiles.tiles_for_ranges(ranges)
        loaded = dict(cache or {})
        missing = needed - loaded.keys()
        if missing:
            loaded.update(self._load_tiles(conn, log_pk, missing))
        return [tiles.range_hash_from_tiles(a, b, loaded) for a, b in ranges]

    def _root_from_tiles(self, conn, log_pk, size, cache=None) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._hash_ranges(conn, log_pk, [(0, size)], cache)[0]

    def _checked_size(self, log: LogInfo, size: int | None) -> int:
        if size is None:
            return log.size
        if not 0 <= size <= log.size:
            raise InvalidArgumentError(f"size {size} is outside the log (its size is {log.size})")
        return size

    def root_at(self, stream: str, size: int | None = None) -> bytes:
        """Root of the first ``size`` records (default: the whole log)."""
        with self.engine.connect() as conn:
            log = self.get_log(stream, conn)
            size = self._checked_size(log, size)
            if size == log.size:
                return log.root
            return self._root_from_tiles(conn, log.pk, size)

    def _read_log(self, log: LogInfo | str, conn: Connection) -> LogInfo:
        """``log`` as read already by the caller (no round trip), or the log named ``log``."""
        return log if isinstance(log, LogInfo) else self.get_log(log, conn)

    def inclusion_proof(self, stream: LogInfo | str, index: int, size: int | None = None) -> InclusionProof:
        """Inclusion proof of the record at ``index`` in the log's first ``size`` records (of
        the log named ``stream``, or the ``LogInfo`` the caller read: then the tiles are the
        only round trip; they are append-only, so any later read of them proves the same)."""
        with self.engine.connect() as conn:
            log = self._read_log(stream, conn)
            size = self._checked_size(log, size)
            if not 0 <= index < size:
                raise InvalidArgumentError(f"index {index} is outside a log of size {size}")
            ranges = merkle.inclusion_ranges(index, size)
            hashes = self._hash_ranges(conn, log.pk, [(index, index + 1), (0, size), *ranges])
        return InclusionProof(index, size, hashes[1], hashes[0], hashes[2:])

    def consistency_proof(
        self, stream: LogInfo | str, old_size: int, new_size: int | None = None
    ) -> ConsistencyProof:
        """Proof that the log at ``old_size`` is a prefix of the log at ``new_size`` (``stream``:
        as in ``inclusion_proof``)."""
        with self.engine.connect() as conn:
            log = self._read_log(stream, conn)
            new_size = self._checked_size(log, new_size)
            if not 0 < old_size <= new_size:
                raise InvalidArgumentError(
                    f"need 0 < old size <= new size (got {old_size} -> {new_size})"
                )
            ranges = merkle.consistency_ranges(old_size, new_size)
            hashes = self._hash_ranges(conn, log.pk, [(0, old_size), (0, new_size), *ranges])
        return ConsistencyProof(old_size, new_size, hashes[0], hashes[1], hashes[2:])

    def range_proof(
        self, stream: str, start: int, end: int, size: int | None = None
    ) -> tuple[list[bytes], list[bytes]]:
        """Range proof ``(left, right)`` of records ``[start, end)`` in the first ``size``:
        the hashes of the perfect subtrees covering ``[0, start)`` and ``[end, size)``
        (``merkle.range_proof_ranges``), read from the tiles in one query."""
        with self.engine.connect() as conn:
            log = self.get_log(stream, conn)
            size = self._checked_size(log, size)
            left, right = merkle.range_proof_ranges(start, end, size)
            hashes = self._hash_ranges(conn, log.pk, [*left, *right]) if left or right else []
        return hashes[: len(left)], hashes[len(left):]

    # --- reading: records -------------------------------------------------------------

    def record_at(self, stream: LogInfo | str, index: int) -> StoredRecord:
        """The record at ``index``, unsealed, with its salt and leaf hash (``stream``: as in
        ``inclusion_proof``)."""
        with self.engine.connect() as conn:
            log = self._read_log(stream, conn)
            row = conn.execute(
                select(Record.leaf_hash, Record.sealed).where(
                    Record.log_pk == log.pk, Record.idx == index
                )
            ).first()
        if row is None:
            raise NotFoundError(f"log {log.stream!r} has no record at index {index} (size {log.size})")
        return self._unseal(index, bytes(row.leaf_hash), bytes(row.sealed), log.record_format)

    def index_of(self, stream: LogInfo | str, record_id: str) -> int:
        with self.engine.connect() as conn:
            log = self._read_log(stream, conn)
            index = conn.execute(
                select(Record.idx).where(
                    Record.log_pk == log.pk, Record.id_digest == self.key.id_digest(record_id)
                )
            ).scalar()
        if index is None:
            raise NotFoundError(f"log {log.stream!r} has no record with id {record_id!r}")
        return index

    def iter_sealed(self, stream: str, start: int = 0, end: int | None = None) -> Iterator[SealedRecord]:
        """Rows ``[start, end)`` as stored (leaf hash and sealed payload), in index order, paged."""
        log = self.get_log(stream)
        end = log.size if end is None else min(end, log.size)
        pos = start
        while pos < end:
            with self.engine.connect() as conn:
                page = conn.execute(
                    select(Record.idx, Record.leaf_hash, Record.sealed)
                    .where(Record.log_pk == log.pk, Record.idx >= pos, Record.idx < min(end, pos + 1000))
                    .order_by(Record.idx)
                ).all()
            if not page or page[0].idx != pos:
                raise InvariantError(f"log {stream!r} has no record at index {pos} below its size")
            for r in page:
                if r.idx != pos:
                    raise InvariantError(f"log {stream!r} has no record at index {pos} below its size")
                yield SealedRecord(r.idx, bytes(r.leaf_hash), bytes(r.sealed))
                pos += 1

    def iter_records(self, stream: str, start: int = 0, end: int | None = None) -> Iterator[StoredRecord]:
        """Records ``[start, end)`` in index order, unsealed (each checked against its leaf, made
        by the log's record format)."""
        record_format = self.get_log(stream).record_format
        for r in self.iter_sealed(stream, start, end):
            yield self._unseal(r.index, r.leaf_hash, r.sealed, record_format)

    def _unseal(self, index: int, leaf: bytes, sealed: bytes, record_format: str) -> StoredRecord:
        salt, canonical = self.key.open(leaf, sealed)
        if leaf_hash_of(record_format, salt, canonical) != leaf:
            raise InvariantError(f"record {index}: sealed payload does not hash to its leaf")
        return StoredRecord(index, record_from_canonical(canonical), salt, leaf, canonical)

    def checkpoints(self, stream: str) -> list[tuple[int, bytes]]:
        with self.engine.connect() as conn:
            log = self.get_log(stream, conn)
            rows = conn.execute(
                select(Checkpoint.size, Checkpoint.root)
                .where(Checkpoint.log_pk == log.pk)
                .order_by(Checkpoint.size)
            ).all()
        return [(r.size, bytes(r.root)) for r in rows]


_LOG_COLUMNS = (Log.id, Log.stream, Log.log_id, Log.size, Log.root, Log.record_format)


@functools.cache
def _find_by_log_id_query(anchored: bool | None):
    """``find_by_log_id_with_owner``'s statement, built once per shape (None: no anchor; False:
    the newest anchor above ``:above``; True: the anchor at ``:size``): building a ``select`` and
    its cache key on every request cost more CPU than running it (every API read starts here)."""
    owner = select(LogOwner.party_id).where(LogOwner.log_pk == Log.id).scalar_subquery()
    query = select(*_LOG_COLUMNS, owner.label("owner"))
    if anchored is not None:
        newest = newest_anchored_id(Log.id, bindparam("above"), bindparam("size") if anchored else None)
        query = query.add_columns(*anchor_columns("a_")).outerjoin(Anchor, Anchor.id == newest)
    return query.where(Log.log_id == bindparam("log_id")).order_by(Log.stream).limit(1)


def _log_info(row) -> LogInfo:
    return LogInfo(row.id, row.stream, row.log_id, row.size, row.root, row.record_format)


def _conflict(rec: SealedInput, index: int) -> ConflictError:
    return ConflictError(
        f"record {rec.position} (id {rec.record_id!r}) conflicts with the record at index "
        f"{index}: same id, different content; nothing from this batch was stored"
    )
