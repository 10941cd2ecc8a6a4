"""The browser's profile (verify/profile.js) on N synthetic records in node, against Python's.

Writes N records of ``ledger.synthetic.factory_month`` (as many days as it takes; telemetry every
15 minutes, work orders, sales orders) as canonical JSONL (not timed), then in node: reads the
lines and ``JSON.parse``s them (timed apart), and builds the profile with ``ProfileBuilder``
(median of R runs, one warm-up). Checks that the JS profile's RFC 8785 bytes equal Python's
``build_profile`` on the same records (Python timed once, for comparison).

    .venv/bin/python bench/bench_profile_js.py [--records 100000] [--runs 3] [--skip-python]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import profile as prof  # noqa: E402
from ledger.canonical import canonicalize  # noqa: E402
from ledger.synthetic import factory_month  # noqa: E402

NODE_TIMER = r"""
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ProfileBuilder } from './api/web/static/js/verify/profile.js';
import { canonicalText } from './api/web/static/js/verify/jcs.js';
const [file, runs] = [process.argv[2], Number(process.argv[3])];
let t0 = performance.now();
const text = readFileSync(file, 'utf8');
const records = text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
const parseMs = performance.now() - t0;
const opts = { logId: '0x' + 'ab'.repeat(32), stream: 'bench', start: 0, end: records.length,
  checkpointSize: records.length, checkpointRoot: '0x' + 'cd'.repeat(32) };
const times = [];
let out;
for (let r = 0; r <= runs; r++) {
  t0 = performance.now();
  const b = new ProfileBuilder({ tz: '+08:00' });
  for (let i = 0; i < records.length; i++) b.add(i, records[i]);
  out = canonicalText(b.result(opts));
  if (r > 0) times.push(performance.now() - t0); // the first run warms the JIT up
}
const sha = createHash('sha256').update(out).digest('hex');
console.log(JSON.stringify({ parseMs, times, sha, bytes: out.length, rssMb: process.memoryUsage().rss / 2 ** 20 }));
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-python", action="store_true")
    a = ap.parse_args()
    days = a.records // 100 + 2  # ~107 records a day
    records = list(islice(factory_month(days=days, seed=11), a.records))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        with path.open("wb") as f:
            for r in records:
                f.write(canonicalize(r) + b"\n")
        runner = Path(tmp) / "timer.mjs"
        runner.write_text(NODE_TIMER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
        proc = subprocess.run(["node", str(runner), str(path), str(a.runs)], capture_output=True, text=True,
                              timeout=3600, cwd=ROOT)
        if proc.returncode:
            sys.exit(proc.stderr)
        js = json.loads(proc.stdout)
        py_s = None
        same = None
        if not a.skip_python:
            values = [json.loads(line) for line in path.read_bytes().splitlines()]
            t0 = time.perf_counter()
            p = prof.build_profile(enumerate(values), log_id=bytes.fromhex("ab" * 32), stream="bench", start=0,
                                   end=len(values), checkpoint_size=len(values),
                                   checkpoint_root=bytes.fromhex("cd" * 32), tz="+08:00")
            py_s = time.perf_counter() - t0
            same = hashlib.sha256(canonicalize(p)).hexdigest() == js["sha"]
    print(json.dumps({
        "records": a.records, "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "node_parse_s": round(js["parseMs"] / 1000, 3),
        "node_profile_s_median": round(statistics.median(js["times"]) / 1000, 3),
        "node_profile_s_runs": [round(t / 1000, 3) for t in js["times"]],
        "node_rss_mb": round(js["rssMb"]), "profile_bytes": js["bytes"],
        "python_profile_s": None if py_s is None else round(py_s, 3), "same_bytes_as_python": same,
    }, indent=1))
    if same is False:
        sys.exit("the JS profile differs from Python's")


if __name__ == "__main__":
    main()
