"""Tiles: how a Merkle log's subtree hashes are stored so any proof is O(log n) reads.

Pure maths, no storage. The layout follows the tiled logs of transparency-dev/tessera
and C2SP tlog-tiles: a tile at tile level ``t`` and index ``k`` holds up to 256 hashes of
tree level ``8 * t``: the nodes ``[256 * k, 256 * k + 256)`` of that level, each the hash
of a complete subtree of ``2 ** (8 * t)`` leaves. Level 0 tiles hold leaf hashes. Any
complete subtree at tree level L is recomputed from at most ``2 ** (L % 8)`` hashes of
one tile, so a proof for a log of n leaves reads about ``log256(n)`` tiles, whatever n is.

A tile is only ever appended to: a node enters a tile once all of its leaves exist, and
its hash never changes after that.

A stored tile also keeps the tile's own inner levels, so reading a proof hashes nothing:
the blob is level 0 of the tile (its ``w`` hashes), then level 1 (``w >> 1`` hashes), ...,
up to level 7 (``w >> 7``), each holding only complete nodes. ``w`` follows from the
blob's length. This doubles tile storage (about 64 bytes per leaf in all) and turns a
proof into a few reads and a few slices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256 as _sha256

from ledger import merkle
from ledger.errors import InvariantError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_H = merkle.HASH_SIZE
_FULL = TILE_WIDTH * _H
_NODE = b"\x01"  # RFC 9162 interior node prefix (see merkle.node_hash)

TileKey = tuple[int, int]  # (tile level, tile index)


def tile_of_subtree(level: int, index: int) -> tuple[int, int, int, int]:
    """Where subtree (``level``, ``index``) lives: (tile level, tile index, offset, count).

    Its hash is the tree hash of ``count`` consecutive hashes starting at ``offset``.
    """
    tile_level, rest = divmod(level, TILE_HEIGHT)
    first = index << rest
    return tile_level, first >> TILE_HEIGHT, first & (TILE_WIDTH - 1), 1 << rest


def _level_offsets(width: int) -> list[int]:
    offsets, pos = [], 0
    for level in range(TILE_HEIGHT):
        offsets.append(pos)
        pos += width >> level
    return offsets + [pos]


# For each width 1..256: where each level starts in the blob, and the blob's hash count.
_OFFSETS = {w: _level_offsets(w) for w in range(1, TILE_WIDTH + 1)}
_WIDTH_BY_COUNT = {offs[-1]: w for w, offs in _OFFSETS.items()}


def tile_width(blob: bytes) -> int:
    """How many level-0 hashes a stored tile holds."""
    try:
        return _WIDTH_BY_COUNT[len(blob) // _H] if len(blob) % _H == 0 else -1
    except KeyError:
        return -1


def build_tile(bottom: bytes) -> bytes:
    """A tile's blob from its level-0 hashes: every complete inner level appended."""
    parts = [bottom]
    level = bottom
    for _ in range(1, TILE_HEIGHT):
        n = len(level) // (2 * _H)
        if n == 0:
            break
        level = b"".join(
            [_sha256(_NODE + level[i:i + 2 * _H]).digest() for i in range(0, n * 2 * _H, 2 * _H)]
        )
        parts.append(level)
    return b"".join(parts)


def tile_root(blob: bytes) -> bytes:
    """Hash of a full tile's subtree (a node of the next tile level)."""
    top = _OFFSETS[TILE_WIDTH][TILE_HEIGHT - 1] * _H
    return merkle.node_hash(blob[top:top + _H], blob[top + _H:top + 2 * _H])


def subtree_hash_from_tile(tile: bytes, offset: int, count: int) -> bytes:
    """Hash of the complete subtree over ``count`` (a power of two <= 128) level-0 hashes
    of ``tile`` from ``offset``: read from the stored inner level, not recomputed."""
    width = tile_width(tile)
    if width < offset + count:
        raise InvariantError(f"tile holds {max(width, 0)} hashes, subtree needs {offset + count}")
    level = count.bit_length() - 1
    pos = (_OFFSETS[width][level] + (offset >> level)) * _H
    return tile[pos:pos + _H]


def tiles_for_ranges(ranges: Sequence[tuple[int, int]]) -> set[TileKey]:
    """Every tile needed to hash the given leaf ranges (as from ``merkle.*_ranges``)."""
    keys = set()
    for start, end in ranges:
        for level, index in merkle.perfect_subtrees(start, end):
            t, k, _, _ = tile_of_subtree(level, index)
            keys.add((t, k))
    return keys


def range_hash_from_tiles(start: int, end: int, tiles: dict[TileKey, bytes]) -> bytes:
    """Tree hash of leaves ``[start, end)`` from already loaded tiles."""

    def subtree(level: int, index: int) -> bytes:
        t, k, offset, count = tile_of_subtree(level, index)
        try:
            tile = tiles[(t, k)]
        except KeyError:
            raise InvariantError(f"tile ({t}, {k}) was not loaded") from None
        return subtree_hash_from_tile(tile, offset, count)

    return merkle.range_hash(start, end, subtree)


def extend(
    size: int, new_leaves: Sequence[bytes], load_tile: Callable[[int, int], bytes]
) -> dict[TileKey, bytes]:
    """Tiles changed by appending ``new_leaves`` to a log of ``size`` leaves.

    ``load_tile(level, index)`` returns a stored (partial) tile; it is called only for the
    last, incomplete tile of each level. Returns {(tile level, index): tile blob}.
    """
    changed: dict[TileKey, bytes] = {}
    incoming = b"".join(new_leaves)
    level = 0
    level_size = size  # complete nodes at tree level 8 * level before this append
    while incoming:
        first_tile, filled = divmod(level_size, TILE_WIDTH)
        kept = load_tile(level, first_tile)[: filled * _H] if filled else b""
        if len(kept) != filled * _H:
            raise InvariantError(f"stored tile ({level}, {first_tile}) is shorter than the log")
        buf = kept + incoming
        completed = []
        for n, off in enumerate(range(0, len(buf), _FULL)):
            blob = build_tile(buf[off:off + _FULL])
            changed[(level, first_tile + n)] = blob
            if tile_width(blob) == TILE_WIDTH:
                completed.append(tile_root(blob))
        incoming = b"".join(completed)
        level += 1
        level_size = size >> (TILE_HEIGHT * level)
    return changed
