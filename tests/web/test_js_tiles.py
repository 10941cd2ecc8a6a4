"""Parity of the browser's ``verify/tiles.js`` with ``ledger/tlog.py`` (and ``dpl verify --tiles``'s
``open_published``): the same tile paths, the same roots and proofs built from the same tiles
(sizes up to 70,000 leaves: three tile levels), the same notes opened, the same bundles checked,
and the same words for every refusal (a tile of the wrong length, a tile that does not hash to
its parent, tiles that do not hash to the checkpoint's root, another log's tiles, another key)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger import bundles, merkle, tiles, tlog
from ledger.cli.tiles import open_published

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "js" / "tiles_runner.mjs"
CHAIN = 31337
SEED = bytes(range(32))


def _relabelled(signed_by: tlog.NoteSigner, shown_as: tlog.NoteSigner, text: bytes) -> bytes:
    """``text`` signed by ``signed_by``, its signature line renamed to ``shown_as``'s name and key ID:
    a signature line's name and key ID are not covered by the signature."""
    body, sigs = tlog.split_note(signed_by.sign(text))
    raw = sigs[0][1]
    line = f"\u2014 {shown_as.verifier.name} {base64.b64encode(shown_as.verifier.key_id + raw[4:]).decode()}\n"
    return body + ("\n" + line).encode()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _log(n: int) -> tuple[list[bytes], dict[str, bytes]]:
    leaves = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]
    stored = tiles.extend(0, leaves, lambda level, index: b"")
    return leaves, {tlog.tile_path(lv, i, w): tlog.c2sp_tile(stored[(lv, i)], w) for lv, i, w in tlog.tiles_of(n)}


def _attempt(f):
    try:
        return f()
    except Exception as e:  # noqa: BLE001 - the words are compared, whatever raised them
        return {"error": str(e)}


def _flip(data: bytes, at: int = 40) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def _cases():
    logs, expected_logs = [], []
    sizes = [1, 2, 7, 256, 257, 1000, 70_000]
    made = {n: _log(n) for n in sizes}
    variants = [(n, made[n][1]) for n in sizes]
    _, t1000 = made[1000]
    variants.append((1000, {**t1000, "tile/0/001": _flip(t1000["tile/0/001"])}))       # not its parent's entry
    variants.append((1000, {**t1000, "tile/0/003.p/232": t1000["tile/0/003.p/232"][:-1]}))  # a short tile
    for n, files in variants:
        inclusion = sorted({(0, n), (n - 1, n), (n // 2, n), (n // 3, max(n // 3 + 1, n - 5)), (300 % n, n)})
        consistency = sorted({(1, n), (max(1, n // 3), n), (max(1, n - 1), n), (max(1, n // 5), max(1, n // 2))})
        logs.append({"size": n, "tiles": {k: _b64(v) for k, v in files.items()},
                     "inclusion": inclusion, "consistency": consistency})
        reader = tlog.TileReader(n, files.__getitem__)
        expected_logs.append({
            "root": _attempt(lambda: _hex(reader.root())),
            "inclusion": [_attempt(lambda i=i, s=s: (lambda p: [_hex(p[0]), _hex(p[1]), [_hex(h) for h in p[2]]])(
                reader.inclusion(i, s))) for i, s in inclusion],
            "consistency": [_attempt(lambda m=m, s=s: (lambda p: [_hex(p[0]), _hex(p[1]), [_hex(h) for h in p[2]]])(
                reader.consistency(m, s))) for m, s in consistency],
        })

    log_id = hashlib.sha256(b"log-a").digest()
    origin = tlog.origin_of(CHAIN, log_id)
    signer = tlog.NoteSigner(origin, SEED)
    other = tlog.NoteSigner(tlog.origin_of(CHAIN, bytes(32)), SEED)
    leaves, _ = made[1000]
    text = tlog.checkpoint_text(tlog.Checkpoint(origin, 1000, merkle.root(leaves)))
    spec_vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    spec_note = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ON"
                 "ncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n").encode()
    notes = [(signer.sign(text), signer.verifier.vkey),
             (signer.sign(text).replace(b"\n1000\n", b"\n1001\n"), signer.verifier.vkey),
             (other.sign(text), signer.verifier.vkey),
             (spec_note, spec_vkey),
             (signer.sign(text) + "\u2014 x !!\n".encode(), signer.verifier.vkey),
             (signer.sign(b"o\n01\nAAAA\n"), signer.verifier.vkey),
             (signer.sign(text), "a+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")]
    expected_notes = [_attempt(lambda n=n, v=v: (lambda cp: [cp.origin, str(cp.size), _hex(cp.root), list(cp.extensions)])(
        tlog.parse_checkpoint(tlog.open_note(n, tlog.parse_vkey(v))))) for n, v in notes]

    index_of = {n: i for i, n in enumerate(sizes)}

    def proof_bundle(size, indices, lid=log_id):
        ls = leaves[:size]
        entries = [bundles.make_entry(i, {"id": f"r-{i}"}, b"\0" * 32, ls[i], merkle.inclusion_proof(ls, i)) for i in indices]
        return bundles.make_proof_bundle("line-a/mes", lid, size, merkle.root(ls), entries)

    good = proof_bundle(1000, [0, 999, 300])
    older = proof_bundle(600, [599])
    altered = json.loads(json.dumps(good))
    altered["entries"][0]["proof"][0] = _hex(_flip(bytes.fromhex(altered["entries"][0]["proof"][0][2:]), 0))
    consistency = bundles.make_consistency_bundle("line-a/mes", log_id, 300, merkle.root(leaves[:300]), 1000,
                                                  merkle.root(leaves), merkle.consistency_proof(leaves, 300))
    bad_consistency = {**consistency, "proof": consistency["proof"][::-1]}
    bundle_cases = [good, older, altered, proof_bundle(1000, [5], hashlib.sha256(b"log-b").digest()),
                    consistency, bad_consistency]
    expected_bundles = []
    for b in bundle_cases:
        reader = tlog.TileReader(1000, made[1000][1].__getitem__)
        size = b.get("checkpoint", {}).get("size")
        root = bytes.fromhex(b["checkpoint"]["root"][2:]) if "checkpoint" in b else None
        expected_bundles.append(_attempt(lambda b=b, r=reader, s=size, rt=root: tlog.check_bundle(b, log_id, s, rt, r)))
    beyond = proof_bundle(1000, [1])
    published_small = {k: v for k, v in made[1000][1].items()}
    # the same bundle against a log published at 257: beyond it
    bundle_cases.append(beyond)
    reader257 = tlog.TileReader(257, made[257][1].__getitem__)
    expected_bundles.append(_attempt(lambda: tlog.check_bundle(beyond, log_id, 1000, merkle.root(leaves), reader257)))

    url = "https://tiles.example/" + log_id.hex()
    checkpoint = signer.sign(text)
    top = "tile/1/000.p/3"
    pubs = [({**published_small, "checkpoint": checkpoint}, signer.verifier.vkey),
            ({**published_small, "checkpoint": checkpoint}, None),
            ({**published_small, top: _flip(published_small[top]), "checkpoint": checkpoint}, signer.verifier.vkey),
            ({**published_small, "checkpoint": other.sign(text)}, signer.verifier.vkey),
            # another log's checkpoint (same service seed), its signature line renamed to this log's key
            ({**published_small, "checkpoint": _relabelled(other, signer, tlog.checkpoint_text(
                tlog.Checkpoint(other.verifier.name, 1000, merkle.root(leaves))))}, signer.verifier.vkey)]
    expected_pubs = [_attempt(lambda f=f, v=v: (lambda p: ["0x" + p.log_id.hex(), str(p.chain_id), str(p.checkpoint.size),
                                                           p.signed_by])(open_published(url, v, f.__getitem__)))
                     for f, v in pubs]

    cases = {
        "indexPaths": [0, 1, 999, 1000, 1234067, 10**12],
        "tilePaths": [[0, 0, 256], [0, 1234067, 256], [2, 0, 1], [1, 1000, 255], [63, 10**15, 17]],
        "widths": [[0, 272, 70_000], [0, 273, 70_000], [0, 274, 70_000], [1, 1, 70_000], [2, 0, 70_000], [3, 0, 70_000]],
        "logs": logs,
        "notes": [{"note": _b64(n), "vkey": v} for n, v in notes],
        "bundles": [{"bundle": json.dumps(b), "log": index_of[257] if b is beyond else index_of[1000],
                     "logId": _hex(log_id)} for b in bundle_cases],
        "published": [{"url": url, "vkey": v, "files": {k: _b64(x) for k, x in f.items()}} for f, v in pubs],
    }
    expected = {
        "indexPaths": [tlog.index_path(i) for i in cases["indexPaths"]],
        "tilePaths": [tlog.tile_path(*t) for t in cases["tilePaths"]],
        "widths": [tlog.tile_width_at(*t) for t in cases["widths"]],
        "logs": expected_logs,
        "notes": expected_notes,
        "bundles": expected_bundles,
        "published": expected_pubs,
    }
    return cases, json.loads(json.dumps(expected))


def test_js_tiles_give_python_paths_proofs_and_words(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    cases, expected = _cases()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    proc = subprocess.run([node, str(RUNNER), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for key in ("indexPaths", "tilePaths", "widths", "notes", "bundles", "published"):
        got_k = [{"error": g["error"]} if isinstance(g, dict) and "error" in g else g for g in got[key]]
        assert got_k == expected[key], key
    for i, (g, e) in enumerate(zip(got["logs"], expected["logs"], strict=True)):
        strip = lambda x: {"error": x["error"]} if isinstance(x, dict) and "error" in x else x  # noqa: E731
        assert strip(g["root"]) == e["root"], i
        assert [strip(x) for x in g["inclusion"]] == e["inclusion"], i
        assert [strip(x) for x in g["consistency"]] == e["consistency"], i
    # the cases hold refusals as well as successes, in every group
    assert any("error" in x for x in expected["logs"][-1]["inclusion"]) and any("error" in x for x in expected["notes"])
    assert any("error" in x for x in expected["bundles"] if isinstance(x, dict))
    assert any("error" in x for x in expected["published"] if isinstance(x, dict))
    # a checkpoint of another log under this log's key name: refused, though the signature verifies
    assert "a checkpoint of another log" in expected["published"][-1]["error"]
