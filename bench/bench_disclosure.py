"""Benchmark: write and verify a dpl-disclosure/1 of 100,000 records, in Python and in node.

Builds a pure log of N synthetic telemetry records (``ledger.synthetic.telemetry``, salts
from SHA-256 of the index), writes the disclosure of ``[0, N)`` of a tree of N + 37 leaves
(so ``proof.right`` is not empty) with ``disclosure_chunks`` to a file, then times:

- write: ``disclosure_chunks`` streamed to the file (records already canonical, as the
  store gives them);
- Python verify: ``read_disclosure`` (jsonio) + ``verify_disclosure``;
- Python profile verify: ``read_disclosure`` + ``ledger.profile_verify.verify_profile`` (the
  range proof, the profile recomputed and compared figure by figure: ``dpl profile verify``
  offline);
- node verify: the file's bytes through ``verifyDisclosure`` (``parseJson`` + checks +
  WebCrypto SHA-256), the engine Chromium runs; the read from disk is not timed;
- Chromium verify (``--chromium``): the same in headless Chromium (playwright-core,
  ``/usr/bin/chromium``), the modules and the file served by node on 127.0.0.1 (a secure
  context); the fetch is not timed.

Both verifiers must accept the file and refuse a copy with one record altered.

    .venv/bin/python bench/bench_disclosure.py [--records 100000] [--out-dir bench/out] [--chromium]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import merkle  # noqa: E402
from ledger.disclosure import disclosure_chunks, read_disclosure, verify_disclosure  # noqa: E402
from ledger.errors import BundleError  # noqa: E402
from ledger.records import prepare_record  # noqa: E402
from ledger.synthetic import telemetry  # noqa: E402

NODE = r"""
import { readFileSync } from 'node:fs';
import { verifyDisclosure } from './api/web/static/js/verify/disclosure.js';
const out = {};
for (const [name, path] of [['good', process.argv[1]], ['altered', process.argv[2]]]) {
  const bytes = new Uint8Array(readFileSync(path));
  const t = performance.now();
  let updates = 0;
  try {
    const v = await verifyDisclosure(bytes, { onProgress: () => { updates += 1; } });
    out[name] = { ok: true, records: v.records.length };
  } catch (e) {
    out[name] = { ok: false, error: e.message };
  }
  out[name].seconds = (performance.now() - t) / 1000;
  out[name].progress_updates = updates;
}
process.stdout.write(JSON.stringify(out));
"""

CHROMIUM = r"""
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
const file = process.argv[1];
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/disclosure.json') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(readFileSync(file)); return; }
  const m = url.pathname.match(/^\/verify\/([a-z_0-9]+\.js)$/);
  if (m) { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(readFileSync(`api/web/static/js/verify/${m[1]}`)); return; }
  res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>bench</title>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: process.env.DPL_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const out = await page.evaluate(async () => {
    const { verifyDisclosure } = await import('/verify/disclosure.js');
    const bytes = new Uint8Array(await (await fetch('/disclosure.json')).arrayBuffer());
    let updates = 0;
    const t = performance.now();
    const v = await verifyDisclosure(bytes, { onProgress: () => { updates += 1; } });
    return { records: v.records.length, seconds: (performance.now() - t) / 1000, updates };
  });
  process.stdout.write(JSON.stringify({ ...out, version: browser.version() }));
} finally {
  await browser.close();
  server.close();
}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--chromium", action="store_true", help="also time the verifier in headless Chromium")
    args = ap.parse_args()
    n, extra = args.records, 37
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / "disclosure.json"
    altered = args.out_dir / "disclosure-altered.json"

    canon = [prepare_record(r, i).canonical for i, r in enumerate(telemetry(n + extra, seed=11))]
    salts = [hashlib.sha256(b"salt/%d" % i).digest() for i in range(n + extra)]
    leaves = [merkle.leaf_hash(s + c) for s, c in zip(salts, canon)]
    root = merkle.root(leaves)
    left, right = merkle.range_proof(leaves, 0, n)

    t = time.perf_counter()
    with path.open("wb") as f:
        for chunk in disclosure_chunks(
            log_id=bytes(32), stream="line-a/telemetry", start=0, end=n, size=n + extra, root=root,
            anchor=None, left=left, right=right, entries=((i, salts[i], canon[i]) for i in range(n)),
        ):
            f.write(chunk)
    write_s = time.perf_counter() - t
    raw = path.read_bytes()
    middle = raw.index(b'{"index":%d,' % (n // 2))
    at = raw.index(b'"temp_c":', middle) + len(b'"temp_c":')
    altered.write_bytes(raw[:at] + b"-" + raw[at:])

    t = time.perf_counter()
    v = verify_disclosure(read_disclosure(str(path)))
    py_s = time.perf_counter() - t
    assert len(v.records) == n and v.root == root
    try:
        verify_disclosure(read_disclosure(str(altered)))
        raise SystemExit("Python accepted an altered disclosure")
    except BundleError as e:
        py_altered = str(e)

    # the whole lender-side check of dpl profile verify (offline): read, range proof, recompute, compare
    from ledger.profile import build_profile
    from ledger.profile_verify import verify_profile

    profile = build_profile(((i, r) for i, r in v.records), log_id=bytes(32), stream="line-a/telemetry",
                            start=0, end=n, checkpoint_size=n + extra, checkpoint_root=root, tz="+08:00")
    t = time.perf_counter()
    verdict = verify_profile(profile, read_disclosure(str(path)))
    profile_s = time.perf_counter() - t
    assert verdict.sound, verdict.as_json()

    proc = subprocess.run(["node", "--input-type=module", "-e", NODE, str(path), str(altered)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    js = json.loads(proc.stdout)
    assert js["good"]["ok"] and js["good"]["records"] == n, js
    assert not js["altered"]["ok"] and js["altered"]["error"] == py_altered, (js, py_altered)

    chromium = None
    if args.chromium:
        proc = subprocess.run(["node", "--input-type=module", "-e", CHROMIUM, str(path)],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        if proc.returncode:
            raise SystemExit(proc.stderr)
        chromium = json.loads(proc.stdout)
        assert chromium["records"] == n, chromium

    result = {
        "records": n, "file_bytes": len(raw), "write_seconds": round(write_s, 3),
        "python_verify_seconds": round(py_s, 3), "python_profile_verify_seconds": round(profile_s, 3),
        "node_verify_seconds": round(js["good"]["seconds"], 3),
        "node_progress_updates": js["good"]["progress_updates"],
        "chromium_verify_seconds": round(chromium["seconds"], 3) if chromium else None,
        "chromium": chromium and {"version": chromium["version"], "progress_updates": chromium["updates"]},
        "altered_refused_with": py_altered[:120],
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(),
                    "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()},
    }
    (args.out_dir / "disclosure-results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
