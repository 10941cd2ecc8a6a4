"""Benchmark: a lender's full-disclosure verification of 100,000 records in Chromium.

What the lender page's "Verify in this browser" runs (``verify/profile_verify.js``), in
Debian's Chromium through playwright-core: the factory's profile and the ``dpl-disclosure/1``
fetched from a local static server, then ``verifyProfile`` — the document parsed exactly,
every record checked and hashed (WebCrypto SHA-256), the range proof rebuilt to the root, the
profile recomputed from the records and compared figure by figure. The chain checks (a handful
of RPC calls, ~0.1 s against anvil) and the service's streaming of the document are not in it.

The records are a factory's synthetic months (``ledger.synthetic.factory_month``: IoT
telemetry, MES work orders, ERP sales), salts from SHA-256 of the index; the profile is
``ledger.profile.build_profile``'s. The verdict must be SOUND, and NOT SOUND for a copy with
one record altered (naming the disclosure check).

    .venv/bin/python bench/bench_profile_browser.py [--records 100000] [--out-dir bench/out]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import itertools
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from ledger import jsonio, merkle  # noqa: E402
from ledger.disclosure import disclosure_chunks  # noqa: E402
from ledger.profile import build_profile  # noqa: E402
from ledger.records import prepare_record  # noqa: E402
from ledger.synthetic import factory_month  # noqa: E402

CHROMIUM = os.environ.get("DPL_CHROMIUM", "/usr/bin/chromium")

NODE = r"""
import { chromium } from 'playwright-core';
const [base, chromiumPath] = process.argv.slice(1);
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage();
await page.goto(base + '/bench.html');
const out = {};
for (const name of ['good', 'altered']) {
  out[name] = await page.evaluate(async (file) => {
    const { verifyProfile } = await import('/static/js/verify/profile_verify.js');
    const t0 = performance.now();
    const [p, d] = await Promise.all([fetch('/profile.json'), fetch(file)].map(async (r) => new Uint8Array(await (await r).arrayBuffer())));
    const t1 = performance.now();
    let updates = 0, last = null;
    const v = await verifyProfile(p, d, { onProgress: (x) => { updates += 1; last = x; } });
    const t2 = performance.now();
    return { sound: v.sound, checks: v.checks.map((c) => [c.name, c.ok, c.detail.slice(0, 160)]),
      fetch_seconds: (t1 - t0) / 1000, verify_seconds: (t2 - t1) / 1000, progress_updates: updates, last_progress: last,
      bytes: d.length };
  }, name === 'good' ? '/disclosure.json' : '/disclosure-altered.json');
}
out.chromium = browser.version();
await browser.close();
process.stdout.write(JSON.stringify(out));
"""


def _records(n: int):
    """``n`` records of a factory's synthetic months (ids stay unique: each month is its own seed)."""
    out = []
    for seed in itertools.count(11):
        for r in factory_month(days=30, seed=seed):
            r["id"] = f"{seed}-{r['id']}"
            out.append(r)
            if len(out) == n:
                return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "out")
    args = ap.parse_args()
    n, extra = args.records, 37
    site = args.out_dir / "profile-browser"
    site.mkdir(parents=True, exist_ok=True)

    records = _records(n + extra)
    canon = [prepare_record(r, i).canonical for i, r in enumerate(records)]
    salts = [hashlib.sha256(b"salt/%d" % i).digest() for i in range(n + extra)]
    leaves = [merkle.leaf_hash(s + c) for s, c in zip(salts, canon)]
    root, log_id = merkle.root(leaves), bytes(range(32))
    left, right = merkle.range_proof(leaves, 0, n)
    anchor = {"chain_id": 31337, "registry": "0x" + "ab" * 20, "tx_hash": None, "block_number": None}
    with (site / "disclosure.json").open("wb") as f:
        for chunk in disclosure_chunks(log_id=log_id, stream="line-a/all", start=0, end=n, size=n + extra, root=root,
                                       anchor=anchor, left=left, right=right,
                                       entries=((i, salts[i], canon[i]) for i in range(n))):
            f.write(chunk)
    t = time.perf_counter()
    profile = build_profile(((i, jsonio.loads(canon[i])) for i in range(n)), log_id=log_id, stream="line-a/all",
                            start=0, end=n, checkpoint_size=n + extra, checkpoint_root=root, tz="+08:00")
    py_profile_s = time.perf_counter() - t
    (site / "profile.json").write_bytes(orjson.dumps(profile))
    raw = (site / "disclosure.json").read_bytes()
    at = raw.index(b'"qty_good":', raw.index(b'{"index":%d,' % (n // 2))) + len(b'"qty_good":')
    (site / "disclosure-altered.json").write_bytes(raw[:at] + b"1" + raw[at:])
    (site / "bench.html").write_text("<!doctype html><title>bench</title>")
    static = site / "static"
    if not static.exists():
        static.symlink_to(ROOT / "api" / "web" / "static")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = subprocess.run(["node", "--input-type=module", "-e", NODE, f"http://127.0.0.1:{server.server_port}", CHROMIUM],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
    finally:
        server.shutdown()
    if proc.returncode:
        raise SystemExit(proc.stderr)
    js = json.loads(proc.stdout)
    good, bad = js["good"], js["altered"]
    assert good["sound"], good["checks"]
    assert not bad["sound"] and bad["checks"][-1][0] == "disclosure", bad["checks"]

    result = {
        "records": n, "disclosure_bytes": len(raw), "python_profile_seconds": round(py_profile_s, 3),
        "chromium_fetch_seconds": round(good["fetch_seconds"], 3),
        "chromium_verify_seconds": round(good["verify_seconds"], 3),
        "progress_updates": good["progress_updates"], "last_progress": good["last_progress"],
        "figures_check": good["checks"][-1][2], "altered_refused_with": bad["checks"][-1][2],
        "machine": {"chromium": js["chromium"], "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
    }
    (args.out_dir / "profile-browser-results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
