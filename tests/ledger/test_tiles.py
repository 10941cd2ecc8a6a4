"""ledger.tiles: tiles grown by any sequence of appends give the reference tree's hashes."""

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle, tiles
from tests import reference_merkle as ref


def _grow(batches: list[int]):
    stored: dict = {}
    leaves: list[bytes] = []
    for n in batches:
        new = [merkle.leaf_hash(f"{len(leaves) + i}".encode()) for i in range(n)]
        stored.update(tiles.extend(len(leaves), new, lambda lv, ix: stored.get((lv, ix), b"")))
        leaves += new
    return stored, leaves


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.integers(1, 700), min_size=1, max_size=6), data=st.data())
def test_range_hashes_from_tiles_match_the_reference(batches, data):
    stored, leaves = _grow(batches)
    size = data.draw(st.integers(1, len(leaves)))
    assert tiles.range_hash_from_tiles(0, size, stored) == ref.mth(leaves[:size])
    index = data.draw(st.integers(0, size - 1))
    for a, b in merkle.inclusion_ranges(index, size):
        assert tiles.range_hash_from_tiles(a, b, stored) == ref.mth(leaves[a:b])


def test_a_tile_level_above_256_leaves():
    stored, leaves = _grow([256 * 256 + 3])
    assert tiles.tile_width(stored[(1, 0)]) == 256  # the 256 complete level-8 nodes
    assert stored[(2, 0)] == ref.mth(leaves[: 256 * 256])  # one complete level-16 node
    assert tiles.range_hash_from_tiles(0, len(leaves), stored) == merkle.root(leaves)


def test_proofs_need_few_tiles_whatever_the_size():
    # The O(log n) promise: a 10-million-entry log needs a handful of tiles per proof.
    size = 10_000_000
    for index in (0, 4_999_999, size - 1):
        needed = tiles.tiles_for_ranges([(index, index + 1), (0, size), *merkle.inclusion_ranges(index, size)])
        assert len(needed) <= 12
    assert len(tiles.tiles_for_ranges([(0, 7_654_321), *merkle.consistency_ranges(7_654_321, size)])) <= 16


@given(width=st.integers(1, 256))
def test_a_tile_keeps_every_complete_inner_subtree(width):
    bottom = [merkle.leaf_hash(bytes([i % 256, i // 256])) for i in range(width)]
    blob = tiles.build_tile(b"".join(bottom))
    assert tiles.tile_width(blob) == width
    for level in range(8):
        count = 1 << level
        for offset in range(0, width - count + 1, count):
            assert tiles.subtree_hash_from_tile(blob, offset, count) == ref.mth(bottom[offset:offset + count])
    if width == 256:
        assert tiles.tile_root(blob) == ref.mth(bottom)
