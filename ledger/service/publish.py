"""Publishing a log for reads without the service: its newest anchored checkpoint as a C2SP
signed note and its hashes as C2SP tiles, in a directory any static web server, CDN or
bucket serves (``dpl publish``; layout and trust in docs/TILES.md).

Per log, under ``<out>/<log id hex>/``: ``checkpoint`` (the signed note), ``note.vkey`` (its
verifier key) and ``tile/<L>/<N>[.p/<W>]``. Only what the chain anchors is published: the
newest included or final anchor of the log, its size and root. Records are confidential: no
entry bundles (``tile/entries/``) are written.

Writes are atomic (a temporary file, then a rename) and ordered: every tile first, read back
and checked to hash to the anchored root, the checkpoint last, so a reader never sees a
checkpoint whose tiles are missing. A tile is immutable at its width: a re-run writes only
the tiles it does not find (a file of the wrong length is written again), and the checkpoint
only when it changed. The note key is derived from the data key (``DataKey.note_seed``),
never stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger import tlog
from ledger.errors import InvalidArgumentError, InvariantError, LedgerError
from ledger.store.anchors import AnchorStore
from ledger.store.logstore import LogInfo, LogStore

#: Tiles read from the store per query.
_BATCH = 256


@dataclass(frozen=True)
class Published:
    """What ``publish`` did for one log."""

    stream: str
    log_id: bytes
    directory: Path
    size: int
    root: bytes
    origin: str
    vkey: str
    tiles_written: int
    checkpoint_written: bool


def note_signer(store: LogStore, origin: str) -> tlog.NoteSigner:
    """The note key of the log named ``origin`` (one seed per service, one key name per log)."""
    return tlog.NoteSigner(origin, store.key.note_seed())


def log_directory(out: Path, log_id: bytes) -> Path:
    return out / log_id.hex()


def _write_atomic(path: Path, data: bytes, sync: bool = False) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise LedgerError(f"cannot write {path}: {e.strerror}") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _write_if_changed(path: Path, data: bytes, sync: bool = False) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    _write_atomic(path, data, sync)
    return True


def _file_fetch(directory: Path) -> tlog.Fetch:
    def fetch(path: str) -> bytes:
        return (directory / path).read_bytes()
    return fetch


def publish(store: LogStore, out: Path | str, streams: list[str] | None = None,
            on_tiles: Callable[[int], None] | None = None) -> list[Published]:
    """Publish the newest anchored checkpoint of each log named in ``streams`` (default: every
    log with one; a named log without one is an ``InvalidArgumentError``). ``on_tiles(n)``:
    called as tiles are written. Returns one ``Published`` per log."""
    out = Path(out)
    anchors = AnchorStore(store.engine)
    if streams:
        logs = [store.get_log(s) for s in dict.fromkeys(streams)]
    else:
        logs = store.list_logs()
    done = []
    for info in logs:
        anchor = anchors.newest_anchored(info.pk, -1) if info.log_id is not None else None
        if anchor is None:
            if streams:
                raise InvalidArgumentError(f"log {info.stream!r} has no anchored checkpoint yet: "
                                           "nothing to publish (anchor it first)")
            continue
        done.append(_publish_log(store, out, info, anchor.chain_id, anchor.size, bytes(anchor.root), on_tiles))
    return done


def _publish_log(store: LogStore, out: Path, info: LogInfo, chain_id: int, size: int, root: bytes,
                 on_tiles: Callable[[int], None] | None) -> Published:
    directory = log_directory(out, info.log_id)
    origin = tlog.origin_of(chain_id, info.log_id)
    signer = note_signer(store, origin)
    checkpoint_path = directory / "checkpoint"
    if checkpoint_path.is_file():
        try:
            current = tlog.parse_checkpoint(tlog.open_note(checkpoint_path.read_bytes(), signer.verifier))
        except Exception as e:  # noqa: BLE001 - any unreadable note: say so, write nothing
            raise InvariantError(f"{checkpoint_path} is not a checkpoint of this log signed by this service "
                                 f"({e}); publish to another directory") from None
        if current.size > size:
            raise InvariantError(f"{checkpoint_path} is at size {current.size}, beyond the newest anchored "
                                 f"size {size} of log {info.stream!r}: refusing to go back")

    missing = []
    for level, index, width in tlog.tiles_of(size):
        path = directory / tlog.tile_path(level, index, width)
        try:
            if path.stat().st_size == width * tlog.HASH_SIZE:
                continue
        except OSError:  # not there (or not a directory on the way): written below, or said why
            pass
        missing.append((level, index, width))
    for start in range(0, len(missing), _BATCH):
        batch = missing[start:start + _BATCH]
        stored = store.load_tiles(info, {(lv, i) for lv, i, _ in batch})
        for level, index, width in batch:
            blob = stored.get((level, index))
            if blob is None:
                raise InvariantError(f"log {info.stream!r} has no stored tile ({level}, {index})")
            _write_atomic(directory / tlog.tile_path(level, index, width), tlog.c2sp_tile(blob, width))
        if on_tiles:
            on_tiles(len(batch))

    if size and tlog.TileReader(size, _file_fetch(directory)).root() != root:
        raise InvariantError(f"the tiles written for log {info.stream!r} do not hash to its anchored root "
                             f"at size {size}")
    note = signer.sign(tlog.checkpoint_text(tlog.Checkpoint(origin, size, root)))
    _write_if_changed(directory / "note.vkey", (signer.verifier.vkey + "\n").encode())
    if missing:
        os.sync()  # every tile on disk before the checkpoint that needs it
    changed = _write_if_changed(checkpoint_path, note, sync=True)
    return Published(info.stream, info.log_id, directory, size, root, origin, signer.verifier.vkey,
                     len(missing), changed)
