"""C2SP formats (ledger/tlog.py): tile paths, tiles, checkpoints, signed notes, and proofs
built from tiles equal to the store's proofs (the same maths: ``ledger.tiles``)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle, tiles, tlog
from ledger.errors import BundleError, InvalidArgumentError


@pytest.mark.parametrize("index, path", [
    (0, "000"), (1, "001"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"),
    (10**9, "x001/x000/x000/000"),
])
def test_index_paths_are_the_spec_s(index, path):
    assert tlog.index_path(index) == path
    assert tlog.parse_tile_path(f"tile/0/{path}") == (0, index, 256)


def test_tile_paths_full_and_partial_round_trip():
    assert tlog.tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tlog.tile_path(2, 0, 1) == "tile/2/000.p/1"
    assert tlog.tile_path(1, 1000, 255) == "tile/1/x001/000.p/255"
    for level, index, width in [(0, 0, 1), (63, 5, 256), (3, 123456, 17)]:
        assert tlog.parse_tile_path(tlog.tile_path(level, index, width)) == (level, index, width)


@pytest.mark.parametrize("bad", [
    "tile/0/1", "tile/0/0001", "tile/64/000", "tile/01/000", "tile/0/x000/001", "tile/0/000.p/0",
    "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/001/002", "tile/entries/000", "tile/0/x01/000",
])
def test_other_paths_are_not_tile_paths(bad):
    with pytest.raises(InvalidArgumentError):
        tlog.parse_tile_path(bad)


def test_the_tiles_of_a_tree_are_the_spec_s_example():
    """tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0 tiles, one
    partial level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    17, and one partial level 2 tile of width 1"; size 256: one full level 0, level 1 width 1."""
    t = list(tlog.tiles_of(70_000))
    assert [x for x in t if x[0] == 0] == [(0, i, 256) for i in range(273)] + [(0, 273, 112)]
    assert [x for x in t if x[0] > 0] == [(1, 0, 256), (1, 1, 17), (2, 0, 1)]
    assert list(tlog.tiles_of(256)) == [(0, 0, 256), (1, 0, 1)]
    assert list(tlog.tiles_of(0)) == []
    assert all(tlog.tile_width_at(lv, i, 70_000) == w for lv, i, w in t)
    assert tlog.tile_width_at(0, 274, 70_000) == 0


def _leaves(n):
    return [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]


def _stored_tiles(n):
    return tiles.extend(0, _leaves(n), lambda level, index: b"")


@pytest.mark.parametrize("n", [1, 2, 7, 255, 256, 257, 1000, 65_536 + 300])
def test_proofs_from_c2sp_tiles_equal_the_reference_proofs(n):
    """Tiles cut from stored tiles (first w hashes) give the roots and proofs of the RFC 9162
    reference maths, at the published size and any earlier one."""
    leaves = _leaves(n)
    stored = _stored_tiles(n)
    published = {tlog.tile_path(lv, i, w): tlog.c2sp_tile(stored[(lv, i)], w) for lv, i, w in tlog.tiles_of(n)}
    assert all(len(v) == int(k.rsplit("/", 1)[1] if ".p/" in k else 256) * 32 for k, v in published.items())
    reader = tlog.TileReader(n, published.__getitem__)
    assert reader.root() == merkle.root(leaves)
    for index in {0, n // 2, n - 1}:
        leaf, root, proof = reader.inclusion(index)
        assert (leaf, root) == (leaves[index], merkle.root(leaves))
        assert proof == merkle.inclusion_proof(leaves, index)
    for old in {1, n // 3 or 1, n - 1 or 1}:
        old_root, new_root, proof = reader.consistency(old)
        assert proof == merkle.consistency_proof(leaves, old)
        assert old_root == merkle.root(leaves[:old])
    if n > 3:
        leaf, root, proof = reader.inclusion(1, n - 2)
        assert proof == merkle.inclusion_proof(leaves[:n - 2], 1) and root == merkle.root(leaves[:n - 2])
    assert len(reader.fetched) == len(set(reader.fetched))  # each tile fetched once


def test_a_tile_of_the_wrong_length_is_refused_in_words():
    stored = _stored_tiles(300)
    published = {tlog.tile_path(lv, i, w): tlog.c2sp_tile(stored[(lv, i)], w) for lv, i, w in tlog.tiles_of(300)}
    published["tile/0/001.p/44"] += b"\0"
    with pytest.raises(BundleError, match=r"tile tile/0/001.p/44 is 1409 bytes, not 44 hashes"):
        tlog.TileReader(300, published.__getitem__).inclusion(299)


def test_a_stored_tile_narrower_than_the_tree_is_an_error():
    with pytest.raises(InvalidArgumentError, match="holds 3 hashes, not the 4"):
        tlog.c2sp_tile(tiles.build_tile(b"\1" * 96), 4)


def test_the_spec_s_signed_note_example_verifies():
    """c2sp.org/signed-note, section "Example"."""
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    note = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ON"
            "ncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n").encode()
    v = tlog.parse_vkey(vkey)
    assert v.vkey == vkey
    assert tlog.open_note(note, v) == b"This is an example message.\n"
    with pytest.raises(BundleError, match="does not verify"):
        tlog.open_note(note.replace(b"example message", b"example massage"), v)


def test_checkpoints_sign_parse_and_refuse_another_key_or_a_changed_text():
    log_id = hashlib.sha256(b"log").digest()
    origin = tlog.origin_of(31337, log_id)
    assert origin == f"data-pledge-ledger/31337/{log_id.hex()}"
    assert tlog.parse_origin(origin) == (31337, log_id)
    signer = tlog.NoteSigner(origin, bytes(range(32)))
    cp = tlog.Checkpoint(origin, 1234, merkle.EMPTY_ROOT)
    text = tlog.checkpoint_text(cp)
    assert text == f"{origin}\n1234\n{base64.b64encode(merkle.EMPTY_ROOT).decode()}\n".encode()
    note = signer.sign(text)
    verifier = tlog.parse_vkey(signer.verifier.vkey)
    assert tlog.parse_checkpoint(tlog.open_note(note, verifier)) == cp
    other = tlog.NoteSigner(tlog.origin_of(31337, bytes(32)), bytes(range(32)))
    with pytest.raises(BundleError, match=f"no signature by the key {origin}"):
        tlog.open_note(other.sign(text), verifier)  # another log's key (name), same key material
    with pytest.raises(BundleError, match="does not verify"):
        tlog.open_note(note.replace(b"\n1234\n", b"\n1235\n"), verifier)
    with pytest.raises(BundleError, match="not a data-pledge-ledger log"):
        tlog.parse_origin("example.com/log")


@pytest.mark.parametrize("text, why", [
    (b"o\n01\nAAAA\n", "not a decimal"), (b"o\n1\nAAAA\n", "not the base64 of 32 bytes"),
    (b"o\n1\n", "not origin, size and root"), (b"o\n\n1\nx\n", "not origin, size and root"),
    (b"\xff\n1\nx\n", "not UTF-8"),
])
def test_malformed_checkpoints_are_refused_in_words(text, why):
    with pytest.raises(BundleError, match=why):
        tlog.parse_checkpoint(text)


@pytest.mark.parametrize("vkey", ["a+b", "a+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
                                  "example.com/foo+530d903a+!!", "exa mple+530d903a+AA=="])
def test_bad_verifier_keys_are_refused(vkey):
    with pytest.raises(BundleError):
        tlog.parse_vkey(vkey)


def test_a_full_tile_that_does_not_hash_to_its_parent_entry_is_refused():
    """A root check alone reads only the top tiles: a full tile below them is tied to the root
    by its parent tile's entry, checked as it is fetched."""
    n = 1000
    stored = _stored_tiles(n)
    published = {tlog.tile_path(lv, i, w): tlog.c2sp_tile(stored[(lv, i)], w) for lv, i, w in tlog.tiles_of(n)}
    bad = bytearray(published["tile/0/001"])
    bad[40] ^= 1
    published["tile/0/001"] = bytes(bad)
    reader = tlog.TileReader(n, published.__getitem__)
    assert reader.root() == merkle.root(_leaves(n))  # the root is made of tile/1/000.p/3 and tile/0/003.p/232
    with pytest.raises(BundleError, match=r"tile tile/0/001 does not hash to its entry in tile tile/1/000.p/3"):
        reader.inclusion(300)


_LEAVES = _leaves(3000)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_proof_from_published_tiles_is_the_reference_proof(data):
    """Property: for any published size, any leaf and any earlier size, the proofs built from
    the C2SP tiles equal the RFC 9162 reference (``merkle.inclusion_proof`` over the leaves)."""
    n = data.draw(st.integers(1, len(_LEAVES)), label="published size")
    size = data.draw(st.integers(1, n), label="proof size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size), label="old size")
    leaves = _LEAVES[:n]
    stored = tiles.extend(0, leaves, lambda level, i: b"")
    published = {tlog.tile_path(lv, i, w): tlog.c2sp_tile(stored[(lv, i)], w) for lv, i, w in tlog.tiles_of(n)}
    reader = tlog.TileReader(n, published.__getitem__)
    assert reader.root() == merkle.root(leaves)
    assert reader.inclusion(index, size) == (leaves[index], merkle.root(leaves[:size]),
                                             merkle.inclusion_proof(leaves[:size], index))
    assert reader.consistency(old, size)[2] == merkle.consistency_proof(leaves[:size], old)
