"""Ingest with sealing workers (``LogStore.append(..., jobs=N)``, ``ledger.store.sealing``): the
same log as the serial path, in input order; duplicates and conflicts seen across chunk and
process boundaries; a bad record or a conflict found anywhere stores nothing. SQLite and
PostgreSQL."""

from __future__ import annotations

import orjson
import pytest

from ledger import merkle
from ledger.errors import ConflictError, RecordError
from ledger.leaves import RECORD_V2
from ledger.store import sealing
from tests import reference_merkle as ref

STREAM = "line-a/telemetry"
CHUNK = 50  # small chunks: many chunks, so a pool starts and chunks cross process boundaries


def _value(i, temp=None):
    return {"id": f"t-{i}", "ts": "2026-10-01T08:00:00+08:00", "type": "iot.telemetry",
            "data": {"temp_c": 60 + i / 8 if temp is None else temp, "n": i}}


def _lines(values):
    return [(pos, orjson.dumps(v)) for pos, v in values]


def _stored(store, stream=STREAM):
    return list(store.iter_records(stream))


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_ingest_stores_what_the_serial_one_does_in_input_order(store, jobs, monkeypatch):
    pools = []
    real = sealing.ProcessPoolExecutor
    monkeypatch.setattr(sealing, "ProcessPoolExecutor", lambda *a, **k: pools.append(a) or real(*a, **k))
    values = [(i + 1, _value(i)) for i in range(1000)]
    store.create_log(STREAM)
    store.create_log("serial")
    par = store.append(STREAM, _lines(values), jobs=jobs, raw=True, chunk_size=CHUNK)
    ser = store.append("serial", values, chunk_size=CHUNK)
    assert pools, "no worker pool was started"
    assert (par.appended, par.duplicates, par.size) == (ser.appended, ser.duplicates, ser.size) == (1000, 0, 1000)
    got, want = _stored(store), _stored(store, "serial")
    assert [r.index for r in got] == list(range(1000))
    assert [r.record for r in got] == [r.record for r in want] == [v for _, v in values]
    assert [r.canonical for r in got] == [r.canonical for r in want]
    leaves = [r.leaf_hash for r in got]
    assert par.root == store.get_log(STREAM).root == ref.mth(leaves)  # every leaf checked on unseal
    for index in (0, 499, 999):
        p = store.inclusion_proof(STREAM, index)
        merkle.verify_inclusion(leaves[index], index, 1000, p.proof, p.root)


def test_a_small_batch_starts_no_pool(store, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a pool was started for one chunk")

    monkeypatch.setattr(sealing, "ProcessPoolExecutor", refuse)
    store.create_log(STREAM)
    result = store.append(STREAM, [(i + 1, _value(i)) for i in range(CHUNK)], jobs=4, chunk_size=CHUNK)
    assert result.appended == CHUNK


def test_v2_log_parallel_leaves_check_on_unseal(store):
    store.create_log(STREAM, record_format=RECORD_V2)
    result = store.append(STREAM, [(i + 1, _value(i)) for i in range(300)], jobs=2, chunk_size=CHUNK)
    got = _stored(store)
    assert [r.record["id"] for r in got] == [f"t-{i}" for i in range(300)]
    assert result.root == ref.mth([r.leaf_hash for r in got])


def test_duplicates_across_chunks_and_processes_keep_their_first_index(store):
    store.create_log(STREAM)
    store.append(STREAM, [(i + 1, _value(i)) for i in range(120)])  # indices 0..119 stored before
    # 0..119 again (stored: duplicates), 120..419 new, then 150..199 a second time (earlier in
    # this batch, several chunks back, sealed by another process), and 0..9 once more.
    values = [(i + 1, _value(i)) for i in range(420)] + [(421 + k, _value(150 + k)) for k in range(50)] \
        + [(471 + k, _value(k)) for k in range(10)]
    seen = []
    result = store.append(STREAM, values, jobs=2, chunk_size=CHUNK,
                           on_duplicate=lambda pos, rid, idx: seen.append((pos, rid, idx)))
    assert (result.appended, result.duplicates, result.size) == (300, 180, 420)
    assert sorted(seen) == sorted([(i + 1, f"t-{i}", i) for i in range(120)]
                                  + [(421 + k, f"t-{150 + k}", 150 + k) for k in range(50)]
                                  + [(471 + k, f"t-{k}", k) for k in range(10)])
    assert [r.record["id"] for r in _stored(store)] == [f"t-{i}" for i in range(420)]


@pytest.mark.parametrize("where", ["stored", "batch"])
def test_a_conflict_in_a_worker_chunk_stores_nothing(store, where):
    store.create_log(STREAM)
    store.append(STREAM, [(1, _value(0))])
    before = store.get_log(STREAM)
    values = [(i + 1, _value(i)) for i in range(1, 400)]
    clash = (400, _value(0, temp=-1.0)) if where == "stored" else (400, _value(7, temp=-1.0))
    values.append(clash)
    values += [(i + 1, _value(i)) for i in range(400, 600)]
    with pytest.raises(ConflictError) as e:
        store.append(STREAM, values, jobs=2, chunk_size=CHUNK)
    assert "record 400" in str(e.value) and "nothing from this batch was stored" in str(e.value)
    after = store.get_log(STREAM)
    assert (after.size, after.root) == (before.size, before.root) == (1, before.root)
    assert store.checkpoints(STREAM) == [(1, before.root)]


def test_a_bad_line_in_a_worker_chunk_is_named_and_stores_nothing(store):
    store.create_log(STREAM)
    lines = _lines([(i + 1, _value(i)) for i in range(500)])
    lines[336] = (337, b'{"id": "t-336", "ts": "2026-10-01T08:00:00+08:00"')  # cut short
    lines[411] = (412, orjson.dumps({**_value(411), "ts": "yesterday"}))  # a later error
    with pytest.raises(RecordError) as e:
        store.append(STREAM, lines, jobs=2, raw=True, chunk_size=CHUNK)
    assert e.value.position == 337, str(e.value)  # the first bad record in input order
    assert store.get_log(STREAM).size == 0
    lines[336] = (337, orjson.dumps(_value(336)))
    with pytest.raises(RecordError) as e:
        store.append(STREAM, lines, jobs=2, raw=True, chunk_size=CHUNK)
    assert (e.value.position, e.value.record_id, e.value.field) == (412, "t-411", "ts")
    assert store.get_log(STREAM).size == 0


def test_seal_then_append_sealed_is_append(store):
    store.create_log(STREAM)
    batch = store.seal(STREAM, [(i + 1, _value(i)) for i in range(130)], chunk_size=CHUNK)
    assert [n for n, _ in batch.chunks] == [50, 50, 30]
    assert store.get_log(STREAM).size == 0  # sealing writes nothing
    result = store.append_sealed(STREAM, *batch)
    assert (result.appended, result.size) == (130, 130)
    again = store.append_sealed(STREAM, *store.seal(STREAM, [(1, _value(5))]))
    assert (again.appended, again.duplicates) == (0, 1)


def test_jsonl_blocks_read_as_lines(tmp_path):
    import io

    from ledger import sources

    body = (b'{"a":1}\r\n\n  \n{"b":2}\n' + b'{"long":"' + b"x" * 300 + b'"}\n' + b"\r\n{\"c\":3}")
    want = list(sources.read_jsonl_lines(io.BytesIO(body)))
    for size in (1, 7, 64, 1000):
        seen = []
        blocks = list(sources.read_jsonl_blocks(io.BytesIO(body), seen.append, size=size))
        assert sum(seen) == len(body)
        assert [item for first, block in blocks for item in sources.jsonl_block_lines(first, block)] == want


def test_blocks_in_workers_name_a_bad_line_and_store_nothing(store):
    import io

    from ledger import sources

    store.create_log(STREAM)
    lines = [orjson.dumps(_value(i)) for i in range(3000)]
    lines[2222] = orjson.dumps({**_value(2222), "type": "not a type!"})
    body = b"\n".join(lines) + b"\n"
    with pytest.raises(RecordError) as e:
        store.append(STREAM, sources.read_jsonl_blocks(io.BytesIO(body), size=4096), jobs=2, raw=sealing.BLOCKS)
    assert (e.value.position, e.value.field) == (2223, "type")
    assert store.get_log(STREAM).size == 0
    lines[2222] = orjson.dumps(_value(2222))
    consumed = []
    result = store.append(STREAM, sources.read_jsonl_blocks(io.BytesIO(b"\n".join(lines)), size=4096), jobs=2,
                          raw=sealing.BLOCKS, on_progress=consumed.append)
    assert (result.appended, consumed[-1]) == (3000, 3000) and len(consumed) > 2
    assert [r.record["id"] for r in _stored(store)] == [f"t-{i}" for i in range(3000)]
