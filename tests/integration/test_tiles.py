"""Reads without the service: ``dpl publish`` writes two logs' anchored checkpoints and tiles, a
real static web server (``python -m http.server``, a separate process) serves them, and
``dpl verify --tiles`` checks bundles and builds proofs from them, on a real anvil. Tampered
tiles, another log's tiles under this log's URL, and a hostile server fail in words (exit 1).

``dpl publish`` runs as a process; the other commands run ``ledger.cli.app.main`` in this process
(the same entry point, its errors as one line, exit 1) to keep the module fast."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from pathlib import Path

from ledger.chain import node
from tests.integration.test_anchoring import SAMPLE, STREAM, _free_port, dpl as dpl_process

OTHER = "line-b/iot"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """anvil, two anchored logs (3495 and 300 records), ``dpl publish`` into a directory and a
    static HTTP server process serving it."""
    tmp = tmp_path_factory.mktemp("tiles")
    home = tmp / "home"
    info = node.up(home, port=_free_port())
    e = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    e.update(DPL_HOME=str(home), DPL_RPC_URL=info.rpc_url)
    env = {"env": e, "home": home, "rpc": info.rpc_url, "tmp": tmp}
    server = None
    try:
        for args in (("keys", "import-dev"), ("deploy",), ("log", "create", STREAM), ("ingest", "--log", STREAM, str(SAMPLE)),
                     ("log", "create", OTHER), ("ingest", "--log", OTHER, _other_records(env)), ("anchor",)):
            dpl(env, *args)
        out = tmp / "pub"
        _, text, _ = dpl_process(env, "publish", "--out", str(out), "--json")  # the command as a process too
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "--directory", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield {**env, "out": out, "base": base, "published": {p["stream"]: p for p in json.loads(text)}}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        node.down(home)


def dpl(env, *args, ok=True):
    """``dpl ARGS`` in this process: (exit code, stdout, stderr)."""
    from ledger.cli.app import main

    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True) for _ in range(2))
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for k in [k for k in os.environ if k.startswith("DPL_") or k == "DATABASE_URL"]:
            mp.delenv(k)
        mp.setenv("DPL_HOME", str(env["home"]))
        mp.setenv("DPL_RPC_URL", env["rpc"])
        mp.setattr(sys, "argv", ["dpl", *args])
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code or 0
    out, err = out.buffer.getvalue().decode(), err.buffer.getvalue().decode()
    if ok:
        assert code == 0, err
    else:
        assert code != 0, out
        assert "Traceback" not in err, err
    return code, out, err


def test_verify_from_tiles_served_by_a_static_web_server(served):
    p = served["published"][STREAM]
    log_dir = served["out"] / p["log_id"][2:]
    url = f"{served['base']}/{p['log_id'][2:]}"
    vkey = str(log_dir / "note.vkey")
    vkey_text = (log_dir / "note.vkey").read_text().strip()
    assert p["size"] == 3495 and (log_dir / "tile/0/013.p/167").is_file()

    bundle = served["tmp"] / "b.json"
    dpl(served, "prove", "--log", STREAM, "--index", "3000", "--out", str(bundle))
    _, out, _ = dpl(served, "verify", str(bundle), "--tiles", url, "--vkey", vkey, "--rpc", served["rpc"])
    assert out.startswith(f"valid: the published log at {url} and ")
    assert f"signed by data-pledge-ledger/31337/{p['log_id'][2:]}+" in out
    assert "record 3000: the tiles hold its leaf; their proof at size 3495 equals the bundle's" in out
    assert "factory: " in out and "anchor: anchored on chain 31337" in out

    # An older bundle: proven at size 1000 and consistent with the published checkpoint.
    dpl(served, "prove", "--log", STREAM, "--index", "999", "--size", "1000", "--out", str(bundle))
    _, out, _ = dpl(served, "verify", str(bundle), "--tiles", url, "--vkey", vkey)
    assert "is a prefix of the published one (size 3495" in out

    # A leaf and a consistency proof from the tiles equal the service's, hash for hash.
    _, out, _ = dpl(served, "verify", "--tiles", url, "--vkey", vkey, "--index", "7", "--from", "257")
    _, service, _ = dpl(served, "prove", "--log", STREAM, "--index", "7")
    assert all(h in out for h in json.loads(service)["entries"][0]["proof"])
    _, cons, _ = dpl(served, "consistency", "--log", STREAM, "--from", "257", "--json")
    assert all(h in out for h in json.loads(cons)["proof"]) and json.loads(cons)["new"]["size"] == 3495
    dpl(served, "consistency", "--log", STREAM, "--from", "257", "--out", str(bundle))
    assert "the tiles' proof equals the bundle's" in dpl(served, "verify", str(bundle), "--tiles", url,
                                                         "--vkey", vkey)[1]

    # Without a note key, the chain vouches for the checkpoint; without either, nothing does.
    assert "signature not checked" in dpl(served, "verify", "--tiles", url, "--rpc", served["rpc"])[1]
    _, _, err = dpl(served, "verify", "--tiles", url, ok=False)
    assert "--tiles needs --vkey" in err

    # The browser's verifier, fetching from the same server itself, says the same.
    dpl(served, "prove", "--log", STREAM, "--index", "2999", "--size", "3000", "--out", str(bundle))
    _, out, _ = dpl(served, "verify", str(bundle), "--tiles", url, "--vkey", vkey)
    lines = [line.strip() for line in out.splitlines()[1:]]
    assert len(lines) == 4 and lines[1].startswith("tiles: ")
    assert _js_checks(url, vkey_text, bundle) == [
        {"name": "published checkpoint", "ok": True, "detail": lines[0].removeprefix("checkpoint: ")},
        {"name": "tiles", "ok": True, "detail": "; ".join(lines[2:])}]

    # A tampered tile: it no longer hashes to its entry in the tile above it; a tampered top
    # (partial) tile: the tiles no longer hash to the checkpoint's root.
    tile = log_dir / "tile/0/003"
    good = tile.read_bytes()
    tile.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    _, _, err = dpl(served, "verify", "--tiles", url, "--vkey", vkey, "--index", "800", ok=False)
    assert err == "invalid: tile tile/0/003 does not hash to its entry in tile tile/1/000.p/13: a tile was altered\n"
    dpl(served, "prove", "--log", STREAM, "--index", "800", "--out", str(served["tmp"] / "b800.json"))
    _, _, err = dpl(served, "verify", str(served["tmp"] / "b800.json"), "--tiles", url, "--vkey", vkey, ok=False)
    assert _js_checks(url, vkey_text, served["tmp"] / "b800.json")[-1] == {
        "name": "tiles", "ok": False, "detail": err.removeprefix("invalid: ").rstrip("\n")}
    tile.write_bytes(good)
    top = log_dir / "tile/1/000.p/13"
    good_top = top.read_bytes()
    top.write_bytes(bytes([good_top[0] ^ 1]) + good_top[1:])
    _, _, err = dpl(served, "verify", "--tiles", url, "--vkey", vkey, ok=False)
    assert err.startswith("invalid: the tiles at ") and "not to the checkpoint's root" in err
    top.write_bytes(good_top)
    tile.write_bytes(good[:-32])  # a tile one hash short
    _, _, err = dpl(served, "verify", "--tiles", url, "--vkey", vkey, "--index", "800", ok=False)
    assert "tile tile/0/003 is 8160 bytes, not 256 hashes" in err
    tile.write_bytes(good * 1000)  # a huge body: read no further than a tile can hold
    _, _, err = dpl(served, "verify", "--tiles", url, "--vkey", vkey, "--index", "800", ok=False)
    assert err == f"invalid: {url}/tile/0/003 is larger than the 8192 bytes it can hold\n"
    assert _js_checks(url, vkey_text, served["tmp"] / "b800.json")[-1] == {
        "name": "tiles", "ok": False, "detail": err.removeprefix("invalid: ").rstrip("\n")}
    tile.write_bytes(good)

    # A hostile server: a checkpoint too large to be one, a tile that is not there.
    checkpoint = (log_dir / "checkpoint").read_bytes()
    (log_dir / "checkpoint").write_bytes(checkpoint + b"x" * 100_000)
    _, _, err = dpl(served, "verify", "--tiles", url, "--vkey", vkey, ok=False)
    assert "checkpoint is larger than the 16384 bytes it can hold" in err
    (log_dir / "checkpoint").write_bytes(checkpoint)
    _, _, err = dpl(served, "verify", "--tiles", served["base"] + "/nowhere", "--vkey", vkey, ok=False)
    assert "/nowhere/checkpoint: HTTP 404" in err
    assert dpl(served, "verify", "--tiles", url, "--vkey", vkey)[1].startswith("valid:")


def test_another_log_s_tiles_under_this_log_s_url_fail(served):
    mine, theirs = served["published"][STREAM], served["published"][OTHER]
    bundle = served["tmp"] / "b5.json"
    dpl(served, "prove", "--log", STREAM, "--index", "5", "--out", str(bundle))
    vkey = (served["out"] / mine["log_id"][2:] / "note.vkey").read_text().strip()
    my_dir = served["out"] / "relabelled" / mine["log_id"][2:]
    shutil.copytree(served["out"] / theirs["log_id"][2:], my_dir)  # theirs under my log's path
    url = f"{served['base']}/relabelled/{mine['log_id'][2:]}"

    _, _, err = dpl(served, "verify", str(bundle), "--tiles", url, "--vkey", vkey, ok=False)
    assert f"carries no signature by the key data-pledge-ledger/31337/{mine['log_id'][2:]}" in err
    _, _, err = dpl(served, "verify", str(bundle), "--tiles", url, "--rpc", served["rpc"], ok=False)
    assert f"the bundle is of log {mine['log_id']}, the tiles are of log {theirs['log_id']}" in err

    # Their tiles under a checkpoint that names my log: the chain never anchored that root for it.
    note = (my_dir / "checkpoint").read_text()
    (my_dir / "checkpoint").write_text(note.replace(theirs["log_id"][2:], mine["log_id"][2:]))
    _, _, err = dpl(served, "verify", "--tiles", url, "--rpc", served["rpc"], "--index", "0", ok=False)
    assert f"for log {mine['log_id']}" in err or "but the bundle claims" in err, err
    _, _, err = dpl(served, "verify", "--tiles", url, "--vkey", vkey, ok=False)
    assert "does not verify" in err or "no signature by the key" in err


def _other_records(env) -> str:
    path = env["tmp"] / "other.jsonl"
    path.write_text("".join(json.dumps({"id": f"o-{i}", "ts": "2026-11-01T08:00:00+08:00", "type": "iot.telemetry",
                                        "data": {"v": i}}) + "\n" for i in range(300)))
    return str(path)


def _js_checks(url, vkey, bundle) -> list[dict]:
    """``verify/tiles.js`` ``tilesChecks`` run by node, fetching over HTTP itself."""
    node = shutil.which("node")
    assert node, "node (Node.js 20+) is not on PATH: the browser verifier cannot be tested"
    proc = subprocess.run([node, str(ROOT / "tests" / "js" / "tiles_http.mjs"), url, vkey, str(bundle)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
