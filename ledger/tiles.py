"""Tiles: how a Merkle log's subtree hashes are stored so any proof is O(log n) reads.

Pure maths, no storage. The layout follows the tiled logs of transparency-dev/tessera
and C2SP tlog-tiles: a tile at tile level ``t`` and index ``k`` holds up to 256 hashes of
tree level ``8 * t``: the nodes ``[256 * k, 256 * k + 256)`` of that level, each the hash
of a complete subtree of ``2 ** (8 * t)`` leaves. Level 0 tiles hold leaf hashes. Any
complete subtree at tree level L is recomputed from at most ``2 ** (L % 8)`` hashes of
one tile, so a proof for a log of n leaves reads about ``log256(n)`` tiles, whatever n is.

A tile is only ever appended to: a node enters a tile once all of its leaves exist, and
its hash never changes after that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger import merkle
from ledger.errors import InvariantError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_H = merkle.HASH_SIZE
_FULL = TILE_WIDTH * _H

TileKey = tuple[int, int]  # (tile level, tile index)


def tile_of_subtree(level: int, index: int) -> tuple[int, int, int, int]:
    """Where subtree (``level``, ``index``) lives: (tile level, tile index, offset, count).

    Its hash is the tree hash of ``count`` consecutive hashes starting at ``offset``.
    """
    tile_level, rest = divmod(level, TILE_HEIGHT)
    first = index << rest
    return tile_level, first >> TILE_HEIGHT, first & (TILE_WIDTH - 1), 1 << rest


def subtree_hash_from_tile(tile: bytes, offset: int, count: int) -> bytes:
    """Tree hash of ``count`` (a power of two) hashes of ``tile`` from ``offset``."""
    if len(tile) < (offset + count) * _H:
        raise InvariantError(
            f"tile holds {len(tile) // _H} hashes, subtree needs {offset + count}"
        )
    if count == 1:
        return tile[offset * _H:(offset + 1) * _H]
    return merkle.root([tile[i:i + _H] for i in range(offset * _H, (offset + count) * _H, _H)])


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
    last, incomplete tile of each level. Returns {(tile level, index): full tile bytes}.
    """
    changed: dict[TileKey, bytes] = {}
    incoming = b"".join(new_leaves)
    level = 0
    level_size = size  # complete nodes at tree level 8 * level before this append
    while incoming:
        first_tile, filled = divmod(level_size, TILE_WIDTH)
        buf = (load_tile(level, first_tile)[: filled * _H] if filled else b"") + incoming
        if filled and len(buf) < (filled * _H) + len(incoming):
            raise InvariantError(f"stored tile ({level}, {first_tile}) is shorter than the log")
        completed = []
        for n, off in enumerate(range(0, len(buf), _FULL)):
            tile = buf[off:off + _FULL]
            changed[(level, first_tile + n)] = tile
            if len(tile) == _FULL:
                completed.append(merkle.root([tile[i:i + _H] for i in range(0, _FULL, _H)]))
        incoming = b"".join(completed)
        level += 1
        level_size = size >> (TILE_HEIGHT * level)
    return changed
