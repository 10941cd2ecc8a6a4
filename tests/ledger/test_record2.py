"""ledger.record2 (dpl-record/2, dpl-partial-record/1): the vectors, hiding, and tampering."""

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import jsonio, merkle, record2
from ledger.errors import BundleError, InvalidArgumentError, ProofError, RecordError
from ledger.records import prepare_record
from ledger.synthetic import factory_month

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "record2"


def _load(name: str) -> dict:
    return jsonio.loads((VECTORS / name).read_bytes(), what=name)


def _h(s: str) -> bytes:
    return bytes.fromhex(s[2:])


FULL = _load("full_records.json")["records"]
VALID = _load("partial_valid.json")
INVALID = _load("partial_invalid.json")


def test_the_vectors_are_what_the_generator_writes():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(VECTORS / "gen.py"), "--check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(FULL) == 5 and len(VALID["cases"]) == 8 and len(INVALID["cases"]) >= 55


@pytest.mark.parametrize("case", FULL, ids=lambda c: c["name"])
def test_full_record_vectors(case):
    record, salt = case["record"], _h(case["record_salt"])
    for f in case["fields"]:
        assert record2.field_salt(salt, f["name"]) == _h(f["salt"])
        assert record2.field_commitment(f["name"], f["canonical"].encode(), _h(f["salt"])) == _h(f["commitment"])
    assert [f["name"] for f in case["fields"]] == record2.field_names(record)
    assert record2.leaf_data_v2(record, salt) == _h(case["leaf_data"])
    assert record2.leaf_hash_v2(record, salt) == _h(case["leaf_hash"])
    canonical = prepare_record(record, 0).canonical
    assert merkle.leaf_hash(record2.leaf_data_v2_from_canonical(canonical, salt)) == _h(case["leaf_hash"])


@pytest.mark.parametrize("case", VALID["cases"], ids=lambda c: c["name"])
def test_valid_partial_vectors(case):
    tree = VALID["tree"]
    doc = jsonio.loads(case["text"].encode())
    v = record2.verify_partial_inclusion(doc, tree["size"], [_h(p) for p in case["proof"]], _h(tree["root"]))
    assert (v.index, v.leaf_hash, v.hidden) == (case["index"], _h(case["leaf_hash"]), case["hidden"])
    assert v.record == case["record"]
    assert _h(tree["leaves"][v.index]) == v.leaf_hash


@pytest.mark.parametrize("case", INVALID["cases"], ids=lambda c: c["name"])
def test_invalid_partial_vectors_are_refused_in_their_words(case):
    tree = INVALID["tree"]
    doc = jsonio.loads(case["text"].encode())
    kind = BundleError if case["stage"] == "partial" else ProofError
    with pytest.raises(kind) as e:
        record2.verify_partial_inclusion(doc, tree["size"], [_h(p) for p in case["proof"]], _h(tree["root"]))
    assert str(e.value) == case["error"]
    if case["stage"] == "inclusion":
        assert not isinstance(e.value, BundleError)  # the document was well formed: only the root disagrees


def test_every_kind_of_tampering_has_a_vector():
    names = " | ".join(c["name"] for c in INVALID["cases"])
    for needle in ("value of", "salt of", "hidden commitment 0 changed", "swapped", "fields out of order",
                   "hidden out of order", "disclosed twice", "repeated", "both disclosed and hidden",
                   "31 bytes", "33 bytes", "unknown key", "v1 leaf presented as v2", "ts not a timestamp"):
        assert needle in names, needle
    # Every disclosed value and every salt of the base document, each changed once.
    assert sum(c["name"].startswith("value of ") for c in INVALID["cases"]) == 5
    assert sum(c["name"].startswith("salt of ") for c in INVALID["cases"]) == 5


def test_a_v1_leaf_never_equals_a_v2_leaf_of_other_content():
    # Byte 32 of v1 leaf data is the '{' of the canonical record; of v2 leaf data it is 0x02.
    tree = VALID["tree"]
    v1 = tree["formats"].index("dpl-record/1")
    assert _h(tree["leaves"][v1]) not in [_h(c["leaf_hash"]) for c in FULL]
    for case in FULL:
        data = _h(case["leaf_data"])
        assert data[:33] == record2.LEAF_PREFIX and data[32] == 0x02
        assert prepare_record(case["record"], 0).canonical[:1] == b"{"
        assert int.from_bytes(data[33:37], "big") == len(case["fields"]) == (len(data) - 37) // 32


def _records(n=60):
    return [r for _, r in zip(range(n), factory_month(days=7, seed=5))]


SECRET = "ACME-Secret-Customer-7731"


def test_a_disclosure_holds_no_hidden_value_salt_or_name():
    record = {"id": "SO-1", "ts": "2026-10-01T09:00:00+08:00", "type": "erp.sales_order",
              "data": {"customer": SECRET, "qty_good": 424242, "currency": "CNY", "note_hidden_name": 1}}
    salt = os.urandom(32)
    doc = record2.disclose(record, salt, {"ts", "type", "data.currency"}, index=3)
    raw = orjson.dumps(doc)
    for hidden in (SECRET.encode(), b"424242", b"note_hidden_name", b"customer", b"qty_good", b"SO-1",
                   salt.hex().encode()):
        assert hidden not in raw, hidden
    for name in ("data.customer", "data.qty_good", "id"):
        assert record2.field_salt(salt, name).hex().encode() not in raw
    # ...and it still proves what it shows.
    v = record2.verify_partial(jsonio.loads(raw))
    assert v.leaf_hash == record2.leaf_hash_v2(record, salt)
    assert v.record == {"ts": record["ts"], "type": record["type"], "data": {"currency": "CNY"}} and v.hidden == 4


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_choice_of_fields_verifies_and_any_changed_value_fails(data):
    records = _records()
    k = data.draw(st.integers(0, len(records) - 1), label="record")
    record, salt = records[k], data.draw(st.binary(min_size=32, max_size=32), label="salt")
    names = record2.field_names(record)
    optional = [n for n in names if n not in record2.ALWAYS_DISCLOSED]
    shown = set(data.draw(st.lists(st.sampled_from(optional), unique=True), label="shown")) | {"ts", "type"}
    doc = json.loads(json.dumps(record2.disclose(record, salt, shown, index=k)))
    v = record2.verify_partial(doc)
    assert v.leaf_hash == record2.leaf_hash_v2(record, salt)
    assert v.hidden == len(names) - len(shown)
    assert sorted(f["name"] for f in doc["fields"]) == sorted(shown)
    n = data.draw(st.integers(0, len(doc["fields"]) - 1), label="changed field")
    value = doc["fields"][n]["value"]
    doc["fields"][n]["value"] = (value + 1 if isinstance(value, int) else
                                 value.replace("2026", "2027", 1) if doc["fields"][n]["name"] == "ts" else
                                 value + ".x" if isinstance(value, str) else [value])
    assert record2.verify_partial(doc).leaf_hash != v.leaf_hash


def test_record_salt_and_field_salts_are_independent_of_each_other():
    salt = bytes(range(32))
    salts = {n: record2.field_salt(salt, n) for n in ("id", "ts", "type", "data.qty_good", "data.qty_good ")}
    assert len(set(salts.values())) == len(salts) and salt not in salts.values()
    other = bytes(31) + b"\x01"
    assert record2.field_salt(other, "id") != salts["id"]
    with pytest.raises(InvalidArgumentError):
        record2.field_salt(salt[:31], "id")
    with pytest.raises(InvalidArgumentError):
        record2.leaf_data_v2(_records(1)[0], "00" * 32)
    # A database driver's memoryview is the same salt.
    record = _records(1)[0]
    assert record2.leaf_hash_v2(record, memoryview(salt)) == record2.leaf_hash_v2(record, salt)
    assert record2.field_salt(bytearray(salt), "id") == salts["id"]


def test_equal_values_commit_differently_across_records_and_fields():
    a, b = os.urandom(32), os.urandom(32)
    same = b"42"
    assert record2.field_commitment("data.qty_good", same, record2.field_salt(a, "data.qty_good")) != \
        record2.field_commitment("data.qty_good", same, record2.field_salt(b, "data.qty_good"))
    assert record2.field_commitment("data.qty_good", same, record2.field_salt(a, "data.qty_good")) != \
        record2.field_commitment("data.qty_scrap", same, record2.field_salt(a, "data.qty_scrap"))


def test_value_nesting_follows_the_record_rule():
    def nested(levels):
        return json.loads("[" * levels + "]" * levels)

    base = {"id": "n-1", "ts": "2026-10-01T00:00:00Z", "type": "x.y"}
    salt = bytes(32)
    ok = {**base, "data": {"v": nested(30)}}
    prepare_record(ok, 0)
    doc = record2.disclose(ok, salt, {"ts", "type", "data.v"}, index=0)
    assert record2.verify_partial(doc).leaf_hash == record2.leaf_hash_v2(ok, salt)
    deep = {**base, "data": {"v": nested(31)}}
    with pytest.raises(RecordError):
        prepare_record(deep, 0)
    doc["fields"][0]["value"] = nested(31)
    with pytest.raises(record2.PartialRecordError, match="nested deeper than 32 levels") as e:
        record2.verify_partial(doc)
    assert e.value.field == "data.v"


def test_disclose_refuses_what_it_cannot_do():
    record = _records(1)[0]
    salt = bytes(32)
    with pytest.raises(InvalidArgumentError, match="no field 'data.nope'"):
        record2.disclose(record, salt, {"ts", "type", "data.nope"}, index=0)
    with pytest.raises(InvalidArgumentError, match="'type' must be disclosed"):
        record2.disclose(record, salt, {"ts"}, index=0)
    with pytest.raises(InvalidArgumentError, match="index"):
        record2.disclose(record, salt, {"ts", "type"}, index=-1)
    with pytest.raises(RecordError):
        record2.disclose({**record, "ts": "yesterday"}, salt, {"ts", "type"}, index=0)
    with pytest.raises(RecordError):
        record2.leaf_data_v2({**record, "extra": 1}, salt)


def test_a_hidden_id_verifies_and_the_field_at_fault_is_named():
    record = _records(1)[0]
    doc = record2.disclose(record, bytes(32), {"ts", "type"}, index=0)
    v = record2.verify_partial(doc)
    assert "id" not in v.record and v.record["data"] == {}
    doc["fields"][0]["salt"] = "0x" + "ab" * 31
    with pytest.raises(record2.PartialRecordError) as e:
        record2.verify_partial(doc)
    assert e.value.field == "ts" and isinstance(e.value, BundleError)


def test_record2_is_pure():
    # As tests/test_layers.py requires of the pure modules: no storage, settings, chain or api.
    code = ("import sys, ledger.record2\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'pydantic_settings', 'api', 'web3') "
            "or m.startswith(('ledger.store', 'ledger.chain', 'ledger.service')) or m == 'ledger.settings')))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=60)
    assert out.stdout.strip() == ""


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not 2**53 <= abs(x) < 1e21)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=4), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=5), _json, max_size=6),
       salt=st.binary(min_size=32, max_size=32))
def test_the_stored_bytes_path_gives_the_record_path_leaf(data, salt):
    # The store keeps canonical bytes: a leaf rebuilt from them must be the leaf made at ingest.
    record = {"id": "h-1", "ts": "2026-10-01T00:00:00Z", "type": "x.y", "data": data}
    canonical = prepare_record(record, 0).canonical
    assert record2.leaf_data_v2_from_canonical(canonical, salt) == record2.leaf_data_v2(record, salt)
    doc = record2.disclose(record, salt, set(record2.field_names(record)[: len(data) // 2]) | {"ts", "type"}, index=0)
    assert record2.verify_partial(jsonio.loads(orjson.dumps(doc))).leaf_hash == record2.leaf_hash_v2(record, salt)
