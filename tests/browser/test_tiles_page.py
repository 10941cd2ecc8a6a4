"""The /verify page's optional "Published tiles URL" (``verify/tiles.js``) in Chromium: the demo
service's logs published with ``dpl publish``, served by a separate static server process that
allows other origins (as a CDN or bucket would be configured), and a proof bundle checked
against them (``tiles_page.mjs``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, BIN, CHROMIUM, ROOT, _free_port

#: ``python -m http.server`` with ``Access-Control-Allow-Origin: *`` (the page reads another origin).
CORS_SERVER = (
    "import functools, http.server, sys\n"
    "class H(http.server.SimpleHTTPRequestHandler):\n"
    "    def end_headers(self):\n"
    "        self.send_header('Access-Control-Allow-Origin', '*')\n"
    "        super().end_headers()\n"
    "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), functools.partial(H, directory=sys.argv[2]))"
    ".serve_forever()\n"
)


def _dpl(env, *args) -> str:
    proc = subprocess.run([str(BIN / "dpl"), *args], env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.anvil
def test_the_verify_page_checks_a_bundle_against_published_tiles(ui, tmp_path):
    env = ui["env"]
    out = tmp_path / "pub"
    deadline = time.monotonic() + 60
    while True:  # the service anchors every 2 s
        published = {p["stream"]: p for p in json.loads(_dpl(env, "publish", "--out", str(out), "--json"))}
        if "acme/line-a" in published or time.monotonic() > deadline:
            break
        time.sleep(1)
    mine = published["acme/line-a"]
    others = [p for s, p in published.items() if s != "acme/line-a"]
    assert others, published
    bundle = tmp_path / "b.json"
    _dpl(env, "prove", "--log", "acme/line-a", "--index", "7", "--out", str(bundle))
    assert json.loads(bundle.read_text())["checkpoint"]["size"] <= mine["size"]
    shutil.copytree(out / others[0]["log_id"][2:], out / "relabelled" / mine["log_id"][2:])
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", CORS_SERVER, str(port), str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        tiles = {"url": f"{base}/{mine['log_id'][2:]}", "vkey": mine["vkey"],
                 "relabelled": f"{base}/relabelled/{mine['log_id'][2:]}"}
        spec_env = {**os.environ, "DPL_UI_BASE": ui["base"], "DPL_UI_RPC": ui["rpc"], "DPL_UI_KEYS": json.dumps(ui["keys"]),
                    "DPL_UI_ARTIFACTS": str(ARTIFACTS), "DPL_CHROMIUM": CHROMIUM, "DPL_UI_REGISTRY": ui["registry"],
                    "DPL_TILES_BUNDLE": str(bundle), "DPL_TILES": json.dumps(tiles)}
        proc = subprocess.run(["node", "--test", "--test-reporter=spec", str(Path(__file__).parent / "tiles_page.mjs")],
                              env=spec_env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert proc.returncode == 0, f"tiles_page.mjs failed:\n{proc.stdout[-12000:]}\n{proc.stderr[-4000:]}"
    finally:
        server.terminate()
        server.wait(timeout=10)
