"""Benchmark: bytes on disk per record, by column and by structure, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_store_size.py [--records 1000000] [--backend sqlite|postgres|both]
        [--pg-url postgresql://dpl:dpl@127.0.0.1:55432/postgres] [--out-dir bench/out/store-size]

The records are ``bench_log.py``'s: synthetic telemetry (``ledger.synthetic.telemetry``, seed
2026), one compact JSON object per line, ingested as ``dpl ingest`` does (``LogStore.append`` of
``read_jsonl`` in one batch) into a fresh store: a SQLite file, or a new PostgreSQL database on the
server ``--pg-url`` names (dropped afterwards).

Reported per record (bytes), against the JSONL input:
- the whole store: SQLite file size after a WAL checkpoint (free pages counted separately);
  PostgreSQL ``pg_total_relation_size`` of records + tiles + checkpoints (heap, indexes, TOAST:
  the ratio's numerator), and ``pg_database_size`` for reference (an empty database is ~7 MiB);
- ``records`` by column: ``sealed`` split into its fixed parts (format byte, nonce, salt, GCM
  tag) and the stored canonical bytes (compressed or not), ``leaf_hash``, ``id_digest``,
  ``log_pk``/``idx`` and the row overhead (pages minus column bytes: record headers, cell
  pointers, tuple headers, free space in pages);
- each index of ``records`` (its primary key, the unique ``(log_pk, id_digest)``);
- ``tiles``: level-0 hashes (one per leaf) and the stored inner levels, and their overhead;
- ``checkpoints``.
SQLite figures come from the ``dbstat`` virtual table (pages per b-tree), PostgreSQL's from
``pg_relation_size`` per relation and index and ``pg_column_size`` sums. Prints a table and
writes DIR/results-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_log import STREAM, code_digest, machine, write_jsonl  # noqa: E402

NONCE, TAG, SALT = 12, 16, 32


def _format_bytes() -> int:
    """Bytes of the record seal's format prefix in the code being measured (0 before it had one)."""
    from ledger import crypto

    return getattr(crypto, "RECORD_FORMAT_BYTES", 0)


def ingest(settings, jsonl: Path) -> dict:
    from ledger.cli.logs import few_gc_pauses
    from ledger.sources import read_jsonl
    from ledger.store.logstore import LogStore

    store = LogStore.open(settings)
    try:
        store.create_log(STREAM)
        t0 = time.perf_counter()
        with open(jsonl, "rb") as f, few_gc_pauses():
            result = store.append(STREAM, read_jsonl(f))
        seconds = time.perf_counter() - t0
        # every row still opens and hashes to its leaf (a sample: the audit re-opens all)
        log = store.get_log(STREAM)
        for i in range(0, log.size, max(1, log.size // 997)):
            store.record_at(log, i)
    finally:
        store.close()
    return {"records": result.appended, "seconds": seconds, "root": result.root.hex()}


def seal_cost(jsonl: Path, n: int = 20_000) -> dict:
    """µs per record to seal and to open (best of 3), with ``DataKey.seal``/``open`` as they are
    and with the bare AES-256-GCM of salt || canonical (what sealing was before compression)."""
    import os

    import orjson
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from ledger.crypto import DataKey
    from ledger.records import prepare_record

    with open(jsonl, "rb") as f:
        canon = [prepare_record(orjson.loads(line), i).canonical for i, line in zip(range(n), f)]
    key, aead = DataKey(os.urandom(32), "bench"), AESGCM(os.urandom(32))
    leaf, salt, nonce = os.urandom(32), os.urandom(32), os.urandom(12)

    def best(fn) -> float:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times) / len(canon) * 1e6

    sealed = [key.seal(leaf, salt + c, nonce) for c in canon]
    bare = [nonce + aead.encrypt(nonce, salt + c, b"dpl-record/1" + leaf) for c in canon]
    return {
        "records": len(canon),
        "seal_us": best(lambda: [key.seal(leaf, salt + c, nonce) for c in canon]),
        "open_us": best(lambda: [key.open(leaf, b) for b in sealed]),
        "bare_seal_us": best(lambda: [nonce + aead.encrypt(nonce, salt + c, b"dpl-record/1" + leaf) for c in canon]),
        "bare_open_us": best(lambda: [aead.decrypt(b[:12], b[12:], b"dpl-record/1" + leaf) for b in bare]),
    }


def column_sums(conn, length: str) -> dict:
    """Sums over ``records`` of each column's stored bytes (``length``: the SQL function)."""
    row = conn.exec_driver_sql(
        f"SELECT COUNT(*), SUM({length}(sealed)), SUM({length}(leaf_hash)), SUM({length}(id_digest)) "
        "FROM records").one()
    tl = conn.exec_driver_sql(
        f"SELECT SUM(CASE WHEN level = 0 THEN {length}(hashes) ELSE 0 END), "
        f"SUM({length}(hashes)), COUNT(*) FROM tiles").one()
    return {"rows": row[0], "sealed": int(row[1]), "leaf_hash": int(row[2]), "id_digest": int(row[3]),
            "tile_bytes": int(tl[1]), "tile_rows": tl[2], "tile_level0_blob": int(tl[0])}


def sealed_parts(sealed_total: int, n: int) -> dict:
    fmt = _format_bytes()
    fixed = fmt + NONCE + SALT + TAG
    return {"format byte": fmt * n, "nonce": NONCE * n, "salt": SALT * n, "GCM tag": TAG * n,
            "canonical as stored": sealed_total - fixed * n}


def measure_sqlite(path: Path) -> dict:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
        freelist = conn.exec_driver_sql("PRAGMA freelist_count").scalar() * page_size
        btrees = {name: {"bytes": int(size), "payload": int(payload), "unused": int(unused)}
                  for name, size, payload, unused in conn.exec_driver_sql(
                      "SELECT name, SUM(pgsize), SUM(payload), SUM(unused) FROM dbstat GROUP BY name")}
        indexes = {name: tbl for name, tbl in conn.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")}
        without_rowid = "WITHOUT ROWID" in (conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'records'").scalar() or "").upper()
        sums = column_sums(conn, "length")
    engine.dispose()
    return {"file": path.stat().st_size, "page_size": page_size, "free_pages": freelist,
            "btrees": btrees, "indexes": indexes, "records_without_rowid": without_rowid, "sums": sums}


def measure_postgres(url: str) -> dict:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        def one(sql, *args):
            return conn.execute(sql, args).fetchone()

        relations = {}
        for name, kind, table in conn.execute(
                "SELECT c.relname, c.relkind, t.relname FROM pg_class c "
                "LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')").fetchall():
            relations[name] = {"kind": kind, "table": table,
                               "bytes": one("SELECT pg_relation_size(%s::regclass)", name)[0]}
        totals = {t: one("SELECT pg_total_relation_size(%s::regclass)", t)[0]
                  for t in ("records", "tiles", "checkpoints", "logs", "meta")}
        toast = {t: one("SELECT COALESCE(pg_total_relation_size(reltoastrelid), 0) FROM pg_class "
                        "WHERE relname = %s", t)[0] for t in ("records", "tiles")}
        database = one("SELECT pg_database_size(current_database())")[0]
        col = one("SELECT SUM(pg_column_size(sealed)), SUM(pg_column_size(leaf_hash)), "
                  "SUM(pg_column_size(id_digest)), SUM(pg_column_size(log_pk)), SUM(pg_column_size(idx)), "
                  "SUM(pg_column_size(r.*)) FROM records r")
        dead = {t: one("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = %s", t)[0]
                for t in ("records", "tiles")}
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        sums = column_sums(conn, "octet_length")
    engine.dispose()
    return {"database": database, "relations": relations, "totals": totals, "toast": toast,
            "dead_tuples": dead, "sums": sums,
            "pg_column_size": {"sealed": col[0], "leaf_hash": col[1], "id_digest": col[2],
                               "log_pk": col[3], "idx": col[4], "row": col[5]}}


def report_sqlite(m: dict, n: int, jsonl_bytes: int) -> list[tuple[str, float]]:
    s, b = m["sums"], m["btrees"]
    rec_index = {name: v for name, v in b.items() if m["indexes"].get(name) == "records"}
    rec = b["records"]["bytes"]
    cols = s["sealed"] + s["leaf_hash"] + s["id_digest"]
    rows = [("store file (after WAL checkpoint)", m["file"]), ("  free pages", m["free_pages"])]
    rows.append((f"records table{' (WITHOUT ROWID: the primary key is the table)' if m['records_without_rowid'] else ''}", rec))
    rows += [(f"    sealed: {k}", v) for k, v in sealed_parts(s["sealed"], n).items()]
    rows += [("    leaf_hash", s["leaf_hash"]), ("    id_digest", s["id_digest"]),
             (f"    log_pk, idx{'' if m['records_without_rowid'] else ', rowid'}, record header, cell pointer, free space",
              rec - cols)]
    for name, v in sorted(rec_index.items()):
        rows.append((f"  index {name}", v["bytes"]))
    tb = b["tiles"]["bytes"] + sum(v["bytes"] for k, v in b.items() if m["indexes"].get(k) == "tiles")
    rows += [("tiles (table and primary key)", tb), ("    level-0 hashes", 32 * n),
             ("    stored inner levels", s["tile_bytes"] - 32 * n),
             ("    overhead", tb - s["tile_bytes"])]
    cp = b.get("checkpoints", {}).get("bytes", 0) + sum(
        v["bytes"] for k, v in b.items() if m["indexes"].get(k) == "checkpoints")
    rows.append(("checkpoints", cp))
    other = m["file"] - m["free_pages"] - sum(v["bytes"] for v in b.values() if v is not None)
    rows.append(("  file bytes in no b-tree (header, pointer maps)", other))
    rows.append(("everything else (other tables, schema)", sum(
        v["bytes"] for k, v in b.items()
        if k not in ("records", "tiles", "checkpoints") and m["indexes"].get(k) not in ("records", "tiles", "checkpoints"))))
    return rows


def report_postgres(m: dict, n: int) -> list[tuple[str, float]]:
    s, r, c = m["sums"], m["relations"], m["pg_column_size"]
    heap = r["records"]["bytes"]
    rows = [("database (pg_database_size)", m["database"]),
            ("records (pg_total_relation_size)", m["totals"]["records"]),
            ("  records heap", heap)]
    rows += [(f"    sealed: {k}", v) for k, v in sealed_parts(s["sealed"], n).items()]
    rows += [("    sealed: varlena header", c["sealed"] - s["sealed"]),
             ("    leaf_hash (with varlena header)", c["leaf_hash"]),
             ("    id_digest (with varlena header)", c["id_digest"]),
             ("    log_pk, idx", c["log_pk"] + c["idx"]),
             ("    tuple headers, item pointers, alignment, free space", heap - sum(
                 c[k] for k in ("sealed", "leaf_hash", "id_digest", "log_pk", "idx")))]
    for name, v in sorted(r.items()):
        if v["table"] == "records":
            rows.append((f"  index {name}", v["bytes"]))
    rows.append(("  records TOAST", m["toast"]["records"]))
    rows += [("tiles (pg_total_relation_size)", m["totals"]["tiles"]),
             ("    level-0 hashes", 32 * n), ("    stored inner levels", s["tile_bytes"] - 32 * n),
             ("    TOAST (tile blobs over ~2 KB)", m["toast"]["tiles"])]
    rows.append(("checkpoints (pg_total_relation_size)", m["totals"]["checkpoints"]))
    rows.append(("records + tiles + checkpoints (the log's tables, all indexes, TOAST)",
                 sum(m["totals"][t] for t in ("records", "tiles", "checkpoints"))))
    return rows


def print_table(title: str, rows, n: int, jsonl_bytes: int) -> None:
    print(f"\n{title}: {n:,} records, JSONL {jsonl_bytes / 2**20:.1f} MiB = {jsonl_bytes / n:.1f} B/record")
    print(f"{'':64} {'MiB':>9} {'B/record':>9} {'× JSONL':>8}")
    for label, v in rows:
        print(f"{label:64} {v / 2**20:9.1f} {v / n:9.1f} {v / jsonl_bytes:8.3f}")


def run_backend(backend: str, jsonl: Path, n: int, out_dir: Path, pg_url: str, keep: bool) -> dict:
    from ledger.settings import Settings

    jsonl_bytes = jsonl.stat().st_size
    home = out_dir / f"home-{backend}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if backend == "sqlite":
        db = home / "ledger.db"
        ing = ingest(Settings(home=home, database_url=f"sqlite:///{db}"), jsonl)
        m = measure_sqlite(db)
        rows = report_sqlite(m, n, jsonl_bytes)
        total = m["file"]
        if not keep:
            shutil.rmtree(home)
    else:
        import psycopg

        name = f"dpl_store_size_{secrets.token_hex(4)}"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{pg_url.rpartition('/')[0]}/{name}"
        try:
            ing = ingest(Settings(home=home, database_url=url), jsonl)
            m = measure_postgres(url)
            rows = report_postgres(m, n)
        finally:
            if not keep:
                with psycopg.connect(pg_url, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        total = sum(m["totals"][t] for t in ("records", "tiles", "checkpoints"))
        shutil.rmtree(home, ignore_errors=True)
    print_table(f"{backend} (ingest {ing['seconds']:.1f} s = {n / ing['seconds']:,.0f} records/s)", rows, n, jsonl_bytes)
    print(f"=> store / JSONL = {total / jsonl_bytes:.3f} ({total / n:.1f} B/record)")
    result = {"backend": backend, "records": n, "jsonl_bytes": jsonl_bytes, "total_bytes": total,
              "ratio": total / jsonl_bytes, "ingest": ing, "measure": m,
              "rows": [(label, v, v / n) for label, v in rows],
              "machine": machine(), "code": code_digest(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (out_dir / f"results-{backend}.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--pg-url", default="postgresql://dpl:dpl@127.0.0.1:55432/postgres")
    p.add_argument("--out-dir", type=Path, default=HERE / "out" / "store-size")
    p.add_argument("--keep", action="store_true", help="keep the stores (SQLite file, PostgreSQL database)")
    a = p.parse_args()
    a.out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = a.out_dir / f"records-{a.records}.jsonl"
    if not jsonl.exists():
        write_jsonl(jsonl, a.records)
    print(f"machine: {machine()}; python {platform.python_version()}; code {code_digest()}")
    cost = seal_cost(jsonl)
    print("seal / open, µs per record (best of 3, {records:,} records): DataKey {seal_us:.1f} / {open_us:.1f}; "
          "bare AES-256-GCM of salt || canonical {bare_seal_us:.1f} / {bare_open_us:.1f}".format(**cost))
    (a.out_dir / "seal-cost.json").write_text(json.dumps(cost, indent=1))
    for backend in (("sqlite", "postgres") if a.backend == "both" else (a.backend,)):
        run_backend(backend, jsonl, a.records, a.out_dir, a.pg_url, a.keep)


if __name__ == "__main__":
    main()
