"""ledger.disclosure: the streamed dpl-disclosure/1 writer and its verifier, on good
disclosures of many shapes and on every alteration (each named). The corpus built here is
also run through verify/disclosure.js by tests/web/test_disclosure_parity.py."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from ledger import disclosure, jsonio, merkle
from ledger.disclosure import DISCLOSURE_FORMAT, disclosure_chunks, read_disclosure, verify_disclosure
from ledger.errors import BundleError, InvalidArgumentError
from ledger.leaves import leaf_hash_of
from ledger.records import prepare_record
from ledger.synthetic import telemetry

LOG_ID = bytes(range(32))
ANCHOR = {"chain_id": 31337, "registry": "0x" + "ab" * 20, "tx_hash": "0x" + "cd" * 32, "block_number": 9}


def _log(n: int, seed: int = 3, record_format: str = "dpl-record/1"):
    records = list(telemetry(n, seed=seed))
    salts = [hashlib.sha256(b"salt/%d/%d" % (seed, i)).digest() for i in range(n)]
    canon = [prepare_record(r, i).canonical for i, r in enumerate(records)]
    leaves = [leaf_hash_of(record_format, s, c) for s, c in zip(salts, canon)]
    return records, salts, canon, leaves


def make_disclosure(n: int, start: int, end: int, *, seed: int = 3, anchor=ANCHOR,
                    record_format: str = "dpl-record/1") -> bytes:
    """The text of a good disclosure of [start, end) of a log of n synthetic records."""
    _, salts, canon, leaves = _log(n, seed, record_format)
    left, right = merkle.range_proof(leaves, start, end)
    chunks = disclosure_chunks(
        log_id=LOG_ID, stream="line-a/telemetry", start=start, end=end, size=n,
        root=merkle.root(leaves), anchor=anchor, left=left, right=right,
        entries=((i, salts[i], canon[i]) for i in range(start, end)), record_format=record_format,
    )
    return b"".join(chunks)


GOOD_SHAPES = [(1, 0, 1), (2, 0, 1), (2, 1, 2), (7, 0, 7), (8, 0, 8), (8, 3, 4), (16, 4, 12),
               (33, 0, 1), (33, 32, 33), (64, 17, 50), (100, 0, 100), (100, 37, 38), (257, 1, 256)]


def _flip(h: str) -> str:
    return h[:-1] + ("0" if h[-1] != "0" else "1")


def _swap(d, i, j):
    r = d["records"]
    r[i], r[j] = r[j], r[i]


def _set(path, value):
    def change(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value(d[last]) if callable(value) else value
    return change


# name -> (shape, alteration, the words the error must hold); shape (n, start, end).
PROOF = "range proof does not lead to the checkpoint root"
ALTERATIONS = {
    "record altered": ((20, 5, 15), lambda d: d["records"][3]["record"]["data"].update(temp_c=1.5), PROOF + r".*root mismatch"),
    "record id altered": ((20, 5, 15), _set(["records", 0, "record", "id"], "x"), PROOF),
    "salt altered": ((20, 5, 15), _set(["records", 9, "salt"], _flip), PROOF),
    "salt malformed": ((20, 5, 15), _set(["records", 9, "salt"], "0xAB"), r"records\[9\] \(index 14\)\.salt must be 0x followed by 64 lowercase hex digits"),
    "index altered": ((20, 5, 15), _set(["records", 4, "index"], 10), r"records\[4\] \(index 10\): record 9 is missing \(a record was dropped\)"),
    "index not an int": ((20, 5, 15), _set(["records", 4, "index"], "9"), r"records\[4\]\.index must be a non-negative integer"),
    "left hash altered": ((20, 5, 15), _set(["proof", "left", 0], _flip), PROOF + r".*root mismatch"),
    "right hash altered": ((20, 5, 15), _set(["proof", "right", 1], _flip), PROOF + r".*root mismatch"),
    "left hash added": ((20, 5, 15), lambda d: d["proof"]["left"].append(d["proof"]["left"][0]), r"wrong number of left proof hashes 3, want 2"),
    "right hash removed": ((20, 5, 15), lambda d: d["proof"]["right"].pop(), r"wrong number of right proof hashes 1, want 2"),
    "proof hash malformed": ((20, 5, 15), _set(["proof", "right", 0], 7), r"proof\.right\[0\] must be 0x followed by 64"),
    "record dropped": ((20, 5, 15), lambda d: d["records"].pop(4), r"records\[4\] \(index 10\): record 9 is missing \(a record was dropped\)"),
    "last record dropped": ((20, 5, 15), lambda d: d["records"].pop(), r"records end at index 13, before the range's end 15: record 14 is missing"),
    "record added": ((20, 5, 15), lambda d: d["records"].append(dict(d["records"][-1], index=15)), r"records\[10\] \(index 15\) is outside the range \[5, 15\) \(a record was added\)"),
    "record repeated": ((20, 5, 15), lambda d: d["records"].insert(3, copy.deepcopy(d["records"][2])), r"records\[3\] \(index 7\) repeats the index of records\[2\] \(a record was repeated\)"),
    "two records swapped": ((20, 5, 15), lambda d: _swap(d, 2, 6), r"records\[2\] \(index 11\) is out of order: expected index 7 \(records were reordered\)"),
    "swapped with their indices": ((20, 5, 15), lambda d: [_swap(d, 2, 6), d["records"][2].update(index=7), d["records"][6].update(index=11)], PROOF),
    "index moved": ((20, 5, 15), _set(["records", 4, "index"], 11), r"records\[4\] \(index 11\): record 9 is missing"),
    "index repeated": ((20, 5, 15), _set(["records", 4, "index"], 8), r"records\[4\] \(index 8\) repeats the index of records\[3\]"),
    "range from altered": ((20, 5, 15), _set(["range", "from"], 4), r"records\[0\] \(index 5\): record 4 is missing"),
    "range shifted": ((20, 5, 15), lambda d: [d["range"].update({"from": 6, "to": 16})] + [r.update(index=r["index"] + 1) for r in d["records"]], PROOF),
    "range to altered": ((20, 5, 15), _set(["range", "to"], 16), r"record 15 is missing \(a record was dropped\)"),
    "range empty": ((20, 5, 15), _set(["range", "to"], 5), r"range \[5, 5\) is empty"),
    "range beyond size": ((20, 5, 15), _set(["checkpoint", "size"], 14), r"range \[5, 15\) is beyond checkpoint\.size 14"),
    "size altered": ((20, 5, 15), _set(["checkpoint", "size"], 21), r"wrong number of right proof hashes 2, want 3"),
    "root altered": ((20, 5, 15), _set(["checkpoint", "root"], _flip), PROOF + r".*root mismatch"),
    "record invalid": ((20, 5, 15), lambda d: d["records"][1]["record"].pop("ts"), r"records\[1\] \(index 6\): record is not a valid record: missing field"),
    "record not an object": ((4, 0, 4), _set(["records", 0, "record"], [1]), r"records\[0\] \(index 0\): record is not a valid record"),
    "format altered": ((4, 0, 4), _set(["format"], "dpl-proof/1"), r"unknown disclosure format 'dpl-proof/1' \(expected 'dpl-disclosure/1'\)"),
    "records emptied": ((4, 1, 3), lambda d: d["records"].clear(), r"^records is empty: record 1 is missing \(a record was dropped\)$"),
    "records missing": ((4, 0, 4), lambda d: d.pop("records"), r"^records must be a list$"),
    "proof missing": ((4, 1, 3), lambda d: d.pop("proof"), r"^proof must be a JSON object$"),
    "anchor malformed": ((4, 1, 3), _set(["anchor", "registry"], "0x12"), r"anchor\.registry must be a 0x-prefixed 20-byte address"),
    "log_id malformed": ((4, 1, 3), _set(["log_id"], "0x12"), r"^log_id must be 0x followed by 64 lowercase hex digits$"),
    "stream not a string": ((4, 1, 3), _set(["stream"], 5), r"^stream must be a string$"),
}


def altered(name: str) -> bytes:
    (n, start, end), change, _ = ALTERATIONS[name]
    d = json.loads(make_disclosure(n, start, end))
    change(d)
    return json.dumps(d).encode()


@pytest.mark.parametrize("shape", GOOD_SHAPES, ids=str)
def test_good_disclosures_verify_and_give_back_the_records(shape):
    n, start, end = shape
    text = make_disclosure(n, start, end)
    v = verify_disclosure(jsonio.loads(text))
    records, _, _, leaves = _log(n)
    assert (v.log_id, v.stream, v.start, v.end, v.size) == (LOG_ID, "line-a/telemetry", start, end, n)
    assert v.root == merkle.root(leaves) and v.anchor == ANCHOR
    assert v.records == [(i, records[i]) for i in range(start, end)]


def test_the_text_is_header_then_one_record_per_line():
    text = make_disclosure(16, 4, 12, anchor=None)
    lines = text.split(b"\n")
    assert lines[0].startswith(b'{"format":"dpl-disclosure/1","log_id":"0x0001') and lines[0].endswith(b'"records":[')
    assert lines[1].startswith(b'{"index":4,"salt":"0x') and lines[8].startswith(b'{"index":11,')
    assert lines[9:] == [b"]}", b""] and len(lines) == 11
    doc = json.loads(text)
    assert list(doc) == ["format", "log_id", "stream", "range", "checkpoint", "anchor", "proof", "records"]
    assert doc["anchor"] is None and verify_disclosure(doc).anchor is None
    _, salts, canon, _ = _log(16)
    assert lines[1] == b'{"index":4,"salt":"0x%s","record":%s},' % (salts[4].hex().encode(), canon[4])


@pytest.mark.parametrize("name", list(ALTERATIONS))
def test_every_alteration_is_refused_by_name(name):
    with pytest.raises(BundleError, match=ALTERATIONS[name][2]):
        verify_disclosure(jsonio.loads(altered(name)))


def test_not_an_object():
    with pytest.raises(BundleError, match="^the disclosure must be a JSON object$"):
        verify_disclosure([])


def test_the_writer_refuses_entries_out_of_place():
    def write(entries, start=0, end=3):
        return b"".join(disclosure_chunks(
            log_id=None, stream="s", start=start, end=end, size=4, root=b"\0" * 32, anchor=None,
            left=[], right=[], entries=entries))
    e = (b"\1" * 32, b'{"a":1}')
    with pytest.raises(InvalidArgumentError, match="entry 2 is out of place"):
        write([(0, *e), (2, *e)])
    with pytest.raises(InvalidArgumentError, match="stop at 2"):
        write([(0, *e), (1, *e)])
    with pytest.raises(InvalidArgumentError, match="out of place"):
        write([(0, *e), (1, *e), (2, *e), (3, *e)])
    with pytest.raises(InvalidArgumentError, match="0 <= from < to <= size"):
        write([], start=2, end=2)


def test_read_disclosure_uses_jsonio(tmp_path):
    good = tmp_path / "d.json"
    good.write_bytes(make_disclosure(9, 2, 7))
    assert verify_disclosure(read_disclosure(str(good))).end == 7
    dup = tmp_path / "dup.json"
    dup.write_bytes(make_disclosure(9, 2, 7).replace(b'"stream":', b'"stream":"x","stream":', 1))
    with pytest.raises(jsonio.JsonInputError, match="duplicate"):
        read_disclosure(str(dup))
    assert disclosure.jsonio.MAX_FILE_BYTES >= 64 * 1024 * 1024  # a 100k-record disclosure (~40 MB) fits


# --- a dpl-record/2 log's disclosure ----------------------------------------------------------


def test_a_v2_disclosure_names_its_format_and_verifies_by_it():
    raw = make_disclosure(20, 4, 15, record_format="dpl-record/2")
    doc = jsonio.loads(raw)
    assert list(doc)[:2] == ["format", "record_format"] and doc["record_format"] == "dpl-record/2"
    v = verify_disclosure(doc)
    assert (v.start, v.end, v.record_format) == (4, 15, "dpl-record/2")
    assert "record_format" not in jsonio.loads(make_disclosure(20, 4, 15))  # v1 disclosures as before


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("record_format"), "range proof does not lead to the checkpoint root"),  # read as v1
    (lambda d: d.update(record_format="dpl-record/3"), "record_format must be 'dpl-record/1' or 'dpl-record/2', not 'dpl-record/3'"),
    (lambda d: d.update(record_format=None), "record_format must be 'dpl-record/1' or 'dpl-record/2', not None"),
    (lambda d: d["records"][3]["record"]["data"].update(parts_total=1), "range proof does not lead"),
])
def test_a_v2_disclosure_read_by_another_format_or_altered_fails(change, words):
    doc = jsonio.loads(make_disclosure(20, 4, 15, record_format="dpl-record/2"))
    change(doc)
    with pytest.raises(BundleError, match=words.replace("(", r"\(").replace(")", r"\)")):
        verify_disclosure(doc)


def test_a_v1_disclosure_said_to_be_v2_fails():
    doc = jsonio.loads(make_disclosure(20, 4, 15))
    doc["record_format"] = "dpl-record/2"
    with pytest.raises(BundleError, match="range proof does not lead"):
        verify_disclosure(doc)
