"""Publishing a log as C2SP checkpoint + tiles (``ledger.service.publish``), on SQLite and
PostgreSQL, from checkpoints anchored on a real anvil: what is published is the newest anchored
checkpoint, its tiles give the store's proofs byte for byte, and a re-run writes only what is new."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ledger import tlog
from ledger.errors import InvalidArgumentError, InvariantError
from ledger.service.anchoring import anchor_once
from ledger.service.context import Context
from ledger.service.publish import publish
from tests.api.conftest import PASSPHRASE, chain_home

STREAM = "line-a/mes"


def _rec(i: int) -> dict:
    return {"id": f"r-{i}", "ts": "2026-10-01T08:00:00Z", "type": "mes.work_order", "data": {"n": i}}


@pytest.fixture
def ctx(backend):
    with chain_home(backend.home) as (rpc, _keyring, _record):
        c = Context(backend.model_copy(update={"rpc_url": rpc, "key_passphrase": SecretStr(PASSPHRASE),
                                               "confirmations": 0}))
        yield c
        c.close()


def _append(ctx, start, end):
    ctx.store.append(STREAM, ((i, _rec(i)) for i in range(start, end)))


def _files(directory):
    return {str(p.relative_to(directory)): p.stat().st_ino for p in directory.rglob("*") if p.is_file()}


def test_publish_writes_the_newest_anchored_checkpoint_and_tiles_equal_to_the_store_s(ctx, tmp_path):
    out = tmp_path / "pub"
    ctx.store.create_log(STREAM)
    _append(ctx, 0, 300)
    with pytest.raises(InvalidArgumentError, match="has no anchored checkpoint yet"):
        publish(ctx.store, out, [STREAM])
    assert publish(ctx.store, out) == [] and not out.exists()  # nothing anchored: nothing written
    anchor_once(ctx)
    _append(ctx, 300, 520)  # not anchored: not published
    [p] = publish(ctx.store, out)
    info = ctx.store.get_log(STREAM)
    assert (p.size, p.root, p.log_id) == (300, ctx.store.root_at(STREAM, 300), info.log_id)
    assert p.directory == out / info.log_id.hex() and p.origin == tlog.origin_of(31337, info.log_id)
    assert sorted(_files(p.directory)) == ["checkpoint", "note.vkey", "tile/0/000", "tile/0/001.p/44",
                                            "tile/1/000.p/1"]
    verifier = tlog.parse_vkey((p.directory / "note.vkey").read_text())
    cp = tlog.parse_checkpoint(tlog.open_note((p.directory / "checkpoint").read_bytes(), verifier))
    assert cp == tlog.Checkpoint(p.origin, 300, p.root)

    reader = tlog.TileReader(300, lambda path: (p.directory / path).read_bytes())
    for index, size in [(0, 300), (299, 300), (5, 257), (255, 256), (17, 18)]:
        proof = ctx.store.inclusion_proof(STREAM, index, size)
        assert reader.inclusion(index, size) == (proof.leaf_hash, proof.root, proof.proof)
    for old, new in [(1, 300), (256, 300), (100, 299), (7, 7)]:
        c = ctx.store.consistency_proof(STREAM, old, new)
        assert reader.consistency(old, new) == (c.old_root, c.new_root, c.proof)

    before = _files(p.directory)
    [again] = publish(ctx.store, out, [STREAM])
    assert (again.tiles_written, again.checkpoint_written) == (0, False) and _files(p.directory) == before

    anchor_once(ctx)  # size 520: the full tile stays as it was, new partial tiles beside the old
    [later] = publish(ctx.store, out)
    after = _files(p.directory)
    assert later.size == 520 and later.tiles_written == 3
    assert after["tile/0/000"] == before["tile/0/000"]  # written once, never again
    assert {"tile/0/001", "tile/0/002.p/8", "tile/1/000.p/2", "tile/0/001.p/44"} <= after.keys()
    cp = tlog.parse_checkpoint(tlog.open_note((p.directory / "checkpoint").read_bytes(), verifier))
    assert (cp.size, cp.root) == (520, ctx.store.root_at(STREAM, 520))
    reader = tlog.TileReader(520, lambda path: (p.directory / path).read_bytes())
    proof = ctx.store.inclusion_proof(STREAM, 511, 520)
    assert reader.inclusion(511) == (proof.leaf_hash, proof.root, proof.proof)


def test_a_damaged_tile_is_rewritten_and_a_foreign_checkpoint_is_not_overwritten(ctx, tmp_path):
    out = tmp_path / "pub"
    ctx.store.create_log(STREAM)
    _append(ctx, 0, 10)
    anchor_once(ctx)
    [p] = publish(ctx.store, out)
    tile = p.directory / "tile/0/000.p/10"
    good = tile.read_bytes()
    tile.write_bytes(good[:100])  # a torn write
    [again] = publish(ctx.store, out)
    assert again.tiles_written == 1 and tile.read_bytes() == good
    other = tlog.NoteSigner(p.origin, bytes(32))  # the same origin, another key
    (p.directory / "checkpoint").write_bytes(other.sign(tlog.checkpoint_text(tlog.Checkpoint(p.origin, 10, p.root))))
    with pytest.raises(InvariantError, match="not a checkpoint of this log signed by this service"):
        publish(ctx.store, out)


def test_a_log_of_three_tile_levels_publishes_tiles_that_give_the_store_s_proofs(store, tmp_path):
    """70,000 records (level 0, 1 and 2 tiles, partial at every level), appended in chunks as an
    ingest does. The anchor row is written directly (this test is about the tiles; the chain's
    part is above): publish reads only the newest included/final anchor of the log."""
    from ledger.store.anchors import FINAL, AnchorStore

    n = 70_000
    info = store.create_log(STREAM, log_id=bytes(range(32)))
    store.append(STREAM, ((i, _rec(i)) for i in range(n)))
    root = store.root_at(STREAM, n)
    AnchorStore(store.engine).record_adopted(
        log_pk=info.pk, chain_id=31337, registry="0x" + "ab" * 20, size=n, root=root, state=FINAL,
        sender="0x" + "cd" * 20, nonce=0, tx_hash=b"\1" * 32, block_number=1, block_hash=b"\2" * 32, error=None)
    written = []
    [p] = publish(store, tmp_path, [STREAM], written.append)
    assert (p.size, p.root, p.tiles_written, sum(written)) == (n, root, 274 + 2 + 1, 277)
    assert (p.directory / "tile/0/273.p/112").is_file() and (p.directory / "tile/2/000.p/1").is_file()
    reader = tlog.TileReader(n, lambda path: (p.directory / path).read_bytes())
    for index, size in [(0, n), (n - 1, n), (65_535, 65_536), (65_536, 65_537), (12_345, 69_999), (300, 301)]:
        proof = store.inclusion_proof(STREAM, index, size)
        assert reader.inclusion(index, size) == (proof.leaf_hash, proof.root, proof.proof)
    for old, new in [(1, n), (65_536, n), (256, 65_537), (40_000, 69_999)]:
        c = store.consistency_proof(STREAM, old, new)
        assert reader.consistency(old, new) == (c.old_root, c.new_root, c.proof)


def test_with_dpl_publish_dir_each_anchoring_round_publishes_what_it_anchored(ctx, tmp_path):
    from ledger.service.anchoring import anchor_round

    out = tmp_path / "pub"
    ctx.settings = ctx.settings.model_copy(update={"publish_dir": out})
    ctx.store.create_log(STREAM)
    _append(ctx, 0, 5)
    done = anchor_round(ctx)
    assert done.error is None and [r.size for r in done.reports] == [5]
    info = ctx.store.get_log(STREAM)
    signer = tlog.NoteSigner(tlog.origin_of(31337, info.log_id), ctx.store.key.note_seed())
    note = (out / info.log_id.hex() / "checkpoint").read_bytes()
    assert tlog.parse_checkpoint(tlog.open_note(note, signer.verifier)).size == 5
    _append(ctx, 5, 9)
    assert anchor_round(ctx).error is None
    note = (out / info.log_id.hex() / "checkpoint").read_bytes()
    assert tlog.parse_checkpoint(tlog.open_note(note, signer.verifier)).size == 9


def test_a_directory_that_cannot_be_written_is_an_error_in_words(store, tmp_path):
    from ledger.errors import LedgerError
    from ledger.store.anchors import FINAL, AnchorStore

    info = store.create_log(STREAM, log_id=bytes(range(32)))
    store.append(STREAM, ((i, _rec(i)) for i in range(3)))
    AnchorStore(store.engine).record_adopted(
        log_pk=info.pk, chain_id=31337, registry="0x" + "ab" * 20, size=3, root=store.root_at(STREAM, 3), state=FINAL,
        sender="0x" + "cd" * 20, nonce=0, tx_hash=b"\1" * 32, block_number=1, block_hash=b"\2" * 32, error=None)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(LedgerError, match=r"cannot write .*/file/[0-9a-f]{64}/tile/0/000.p/3: Not a directory"):
        publish(store, blocker, [STREAM])
