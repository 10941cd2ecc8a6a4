"""Writes the dpl-record/2 test vectors (docs/RECORDS.md) into this folder.

    PYTHONPATH=. python tests/vectors/record2/gen.py          # rewrite the JSON files
    PYTHONPATH=. python tests/vectors/record2/gen.py --check  # fail if they are stale

Every hash here is computed twice: by a short transcription of the spec written below with
hashlib, hmac and the reference RFC 8785 package (``rfc8785``), and by ``ledger.record2``; the
generator stops if they differ. Salts are derived from the record's number, so the output is
the same on every run. The expected error messages are ``ledger.record2``'s words, which
``verify/record2.js`` must give too.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sys
from pathlib import Path

import rfc8785

from ledger import jsonio, merkle, record2
from ledger.errors import BundleError, ProofError
from ledger.records import prepare_record

HERE = Path(__file__).resolve().parent

# --- the spec, transcribed independently ----------------------------------------------------


def spec_field_salt(record_salt: bytes, name: str) -> bytes:
    return hmac.new(record_salt, b"dpl-record/2 field salt\x00" + name.encode(), hashlib.sha256).digest()


def spec_commitment(name: str, value: object, salt: bytes) -> bytes:
    n = name.encode()
    return hashlib.sha256(b"\x02" + salt + len(n).to_bytes(4, "big") + n + rfc8785.dumps(value)).digest()


def spec_fields(record: dict) -> list[tuple[str, object]]:
    out = [("id", record["id"]), ("ts", record["ts"]), ("type", record["type"])]
    return out + [("data." + k, v) for k, v in record["data"].items()]


def spec_leaf_data(commitments: list[bytes]) -> bytes:
    head = b"dpl-record/2" + bytes(20) + b"\x02" + len(commitments).to_bytes(4, "big")
    return head + b"".join(sorted(commitments))


def spec_leaf_hash(record: dict, record_salt: bytes) -> bytes:
    cs = [spec_commitment(n, v, spec_field_salt(record_salt, n)) for n, v in spec_fields(record)]
    return hashlib.sha256(b"\x00" + spec_leaf_data(cs)).digest()


def salt_of(k: int) -> bytes:
    return hashlib.sha256(b"dpl-record/2 test vector salt " + str(k).encode()).digest()


# --- the records ------------------------------------------------------------------------------

RECORDS = [
    ("iot.telemetry (demo shape)",
     {"id": "tel-cnc-01-000000000", "ts": "2026-10-01T00:00:00.000+08:00", "type": "iot.telemetry",
      "data": {"machine": "cnc-01", "state": "running", "temp_c": 68.62, "spindle_rpm": 1551,
               "vibration_mm_s": 1.675, "power_kw": 9.6, "parts_total": 15489}}),
    ("mes.work_order (demo shape)",
     {"id": "WO-2026-00001", "ts": "2026-10-01T06:37:47.000+08:00", "type": "mes.work_order",
      "data": {"line": "line-a", "product": "FLG-045", "product_name": "flange 45mm", "qty_planned": 250,
               "qty_good": 42, "qty_scrap": 6, "started": "2026-10-01T00:30:00.000+08:00",
               "machine": "press-07"}}),
    ("erp.sales_order (demo shape, nested lines)",
     {"id": "SO-2026-00001", "ts": "2026-10-01T09:18:48.943+08:00", "type": "erp.sales_order",
      "data": {"customer": "C-1042", "currency": "CNY",
               "lines": [{"sku": "HSG-118", "qty": 510, "unit_price_minor": 3991}],
               "amount_minor": 2035410, "due_days": 90}}),
    ("empty data: three fields",
     {"id": "e-1", "ts": "2026-10-01T00:00:00Z", "type": "iot.heartbeat", "data": {}}),
    ("data keys named like fields, with dots, empty, non-ASCII and beyond the BMP",
     {"id": "édition-✓", "ts": "2026-10-01T23:59:60+08:00", "type": "x.y",
      "data": {"id": "not the record id", "a.b": {"z": 1, "a": [1.5, None, True]}, "": 0,
               "温度": -12.25, "\uffff": "bmp last", "\U0001f600": "emoji", "float": 1e-7,
               "integral float": 1.0, "big": 1e21}}),
]
V1_RECORD = ("a dpl-record/1 leaf in the same tree",
             {"id": "v1-0001", "ts": "2026-10-02T00:00:00Z", "type": "mes.work_order",
              "data": {"qty_good": 42, "machine": "press-07"}})


def fields_vector(record: dict, record_salt: bytes) -> list[dict]:
    out = []
    for name, value in sorted(spec_fields(record), key=lambda f: f[0].encode()):
        salt = spec_field_salt(record_salt, name)
        out.append({"name": name, "canonical": rfc8785.dumps(value).decode(), "salt": "0x" + salt.hex(),
                    "commitment": "0x" + spec_commitment(name, value, salt).hex()})
    return out


def hexs(b: bytes) -> str:
    return "0x" + b.hex()


def text(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


# --- partial records --------------------------------------------------------------------------

CHOICES = [  # (record number, disclosed fields)
    (0, {"ts", "type", "data.machine", "data.state"}),
    (0, {"ts", "type"}),
    (0, {"id", "ts", "type", "data.machine", "data.parts_total", "data.power_kw", "data.spindle_rpm",
         "data.state", "data.temp_c", "data.vibration_mm_s"}),
    (1, {"id", "ts", "type", "data.product", "data.machine"}),
    (1, {"ts", "type", "data.qty_good"}),
    (2, {"ts", "type", "data.currency", "data.amount_minor", "data.lines"}),
    (3, {"id", "ts", "type"}),
    (4, {"ts", "type", "data.id", "data.a.b", "data.", "data.\U0001f600", "data.\uffff"}),
]


def build() -> dict[str, object]:
    records = [r for _, r in RECORDS]
    salts = [salt_of(k) for k in range(len(records) + 1)]
    full = []
    for k, (name, record) in enumerate(RECORDS):
        prepare_record(record, k)
        leaf = spec_leaf_hash(record, salts[k])
        assert leaf == record2.leaf_hash_v2(record, salts[k]), name
        cs = [bytes.fromhex(f["commitment"][2:]) for f in fields_vector(record, salts[k])]
        data = spec_leaf_data(cs)
        assert data == record2.leaf_data_v2(record, salts[k])
        full.append({"name": name, "record": record, "record_salt": hexs(salts[k]),
                     "fields": fields_vector(record, salts[k]), "leaf_data": hexs(data), "leaf_hash": hexs(leaf)})

    v1_record, v1_salt = V1_RECORD[1], salts[-1]
    v1_leaf = merkle.leaf_hash(v1_salt + prepare_record(v1_record, 0).canonical)
    leaves = [bytes.fromhex(f["leaf_hash"][2:]) for f in full] + [v1_leaf]
    size, root = len(leaves), merkle.root(leaves)
    tree = {"size": size, "root": hexs(root), "leaves": [hexs(h) for h in leaves],
            "formats": ["dpl-record/2"] * len(records) + ["dpl-record/1"]}

    def proof_of(index: int) -> list[str]:
        return [hexs(h) for h in merkle.inclusion_proof(leaves, index)]

    valid = []
    for k, shown in CHOICES:
        doc = record2.disclose(records[k], salts[k], shown, index=k)
        v = record2.verify_partial_inclusion(doc, size, merkle.inclusion_proof(leaves, k), root)
        assert v.leaf_hash == leaves[k]
        expected = {n: records[k][n] for n in ("id", "ts", "type") if n in shown}
        expected["data"] = {key: val for key, val in records[k]["data"].items() if "data." + key in shown}
        assert json.dumps(v.record, sort_keys=True) == json.dumps(expected, sort_keys=True)
        valid.append({"name": f"record {k} disclosing {', '.join(sorted(shown, key=str.encode))}",
                      "text": text(doc), "index": k, "proof": proof_of(k), "leaf_hash": hexs(leaves[k]),
                      "record": v.record, "hidden": v.hidden})

    invalid = []

    def bad(name: str, doc_or_text, index: int | None = None):
        raw = doc_or_text if isinstance(doc_or_text, str) else text(doc_or_text)
        at = index if index is not None else 1
        proof = [bytes.fromhex(h[2:]) for h in proof_of(at)]
        try:
            record2.verify_partial_inclusion(jsonio.loads(raw, what="the partial record"), size, proof, root)
        except BundleError as e:
            invalid.append({"name": name, "text": raw, "proof": proof_of(at), "stage": "partial", "error": str(e)})
            return
        except ProofError as e:
            invalid.append({"name": name, "text": raw, "proof": proof_of(at), "stage": "inclusion", "error": str(e)})
            return
        raise AssertionError(f"vector {name!r} was accepted")

    base = record2.disclose(records[1], salts[1], {"id", "ts", "type", "data.product", "data.qty_scrap"}, index=1)
    other = record2.disclose(records[1], salt_of(99), {"ts", "type"}, index=1)

    def alt(fn):
        d = copy.deepcopy(base)
        fn(d)
        return d

    # Each disclosed value changed, each salt changed: the leaf differs, the root does not follow.
    for n, f in enumerate(base["fields"]):
        v = f["value"]
        changed = v + 1 if isinstance(v, int) else ("WO-2026-00002" if f["name"] == "id" else
                  "2026-10-01T06:37:48.000+08:00" if f["name"] == "ts" else
                  "mes.work_orders" if f["name"] == "type" else v + "x")
        bad(f"value of {f['name']} changed", alt(lambda d, n=n, c=changed: d["fields"][n].update(value=c)))
        flipped = f["salt"][:-1] + ("0" if f["salt"][-1] != "0" else "1")
        bad(f"salt of {f['name']} changed", alt(lambda d, n=n, s=flipped: d["fields"][n].update(salt=s)))
    for n, h in enumerate(base["hidden"]):
        flipped = h[:-1] + ("0" if h[-1] != "0" else "1")
        bad(f"hidden commitment {n} changed", alt(lambda d, n=n, s=flipped: d["hidden"].__setitem__(n, s)))
    swapped = sorted(set(base["hidden"][1:]) | {other["hidden"][0]})
    bad("a hidden commitment swapped for one of another record", alt(lambda d: d.update(hidden=swapped)))
    bad("a hidden commitment dropped", alt(lambda d: d["hidden"].pop()))
    bad("a hidden commitment added", alt(lambda d: d.update(hidden=sorted(d["hidden"] + [other["hidden"][0]]))))
    bad("a disclosed field dropped", alt(lambda d: d["fields"].pop(1)))
    bad("the index moved to another leaf", alt(lambda d: d.update(index=2)), index=2)
    bad("a v1 leaf presented as v2 (its record and salt as a v2 disclosure)",
        record2.disclose(v1_record, v1_salt, {"id", "ts", "type", "data.qty_good", "data.machine"}, index=size - 1),
        index=size - 1)
    # Structure: refused before any hash is compared.
    bad("fields out of order", alt(lambda d: d["fields"].reverse()))
    bad("hidden out of order", alt(lambda d: d["hidden"].reverse()))
    bad("a field disclosed twice", alt(lambda d: d["fields"].insert(1, copy.deepcopy(d["fields"][1]))))
    bad("a hidden commitment repeated", alt(lambda d: d["hidden"].insert(1, d["hidden"][0])))
    both = record2.field_commitment("data.product", b'"FLG-045"', record2.field_salt(salts[1], "data.product"))
    bad("a field both disclosed and hidden", alt(lambda d: d.update(hidden=sorted(d["hidden"] + [hexs(both)]))))
    bad("ts not disclosed", alt(lambda d: d.update(fields=[f for f in d["fields"] if f["name"] != "ts"])))
    bad("type hidden", alt(lambda d: d.update(fields=[f for f in d["fields"] if f["name"] != "type"])))
    bad("a salt of 31 bytes", alt(lambda d: d["fields"][0].update(salt=d["fields"][0]["salt"][:-2])))
    bad("a salt in uppercase hex", alt(lambda d: d["fields"][0].update(salt=d["fields"][0]["salt"].upper().replace("0X", "0x"))))
    bad("a commitment of 33 bytes", alt(lambda d: d["hidden"].__setitem__(0, d["hidden"][0] + "00")))
    bad("a commitment not a string", alt(lambda d: d["hidden"].__setitem__(0, 7)))
    bad("an unknown key in the document", alt(lambda d: d.update(leaf_hash=hexs(leaves[1]))))
    bad("an unknown key in a field", alt(lambda d: d["fields"][0].update(commitment="0x")))
    bad("a field without its salt", alt(lambda d: d["fields"][0].pop("salt")))
    bad("no hidden list", alt(lambda d: d.pop("hidden")))
    bad("another format", alt(lambda d: d.update(format="dpl-partial-record/2")))
    bad("the index negative", alt(lambda d: d.update(index=-1)))
    bad("the index a float", text(base).replace('"index":1,', '"index":1.0,'))
    bad("the index a boolean", alt(lambda d: d.update(index=True)))
    bad("fields not a list", alt(lambda d: d.update(fields={})))
    bad("a field not an object", alt(lambda d: d["fields"].insert(0, ["data.x", 1])))
    bad("a name without data.", alt(lambda d: d["fields"][0].update(name="product")))
    bad("a name that is not a string", alt(lambda d: d["fields"][0].update(name=5)))
    bad("a name with a lone surrogate", text(base).replace('"name":"data.product"', '"name":"data.\\ud800"'))
    bad("ts not a timestamp", alt(lambda d: d["fields"][3].update(value="yesterday")))
    bad("ts an impossible date", alt(lambda d: d["fields"][3].update(value="2026-02-30T00:00:00Z")))
    bad("type not a dotted name", alt(lambda d: d["fields"][4].update(value="Not A Type!")))
    bad("type a number", alt(lambda d: d["fields"][4].update(value=7)))
    bad("id empty", alt(lambda d: d["fields"][2].update(value="")))
    bad("id with a newline", alt(lambda d: d["fields"][2].update(value="WO-1\n")))
    bad("id with a lone surrogate", text(base).replace('"value":"WO-2026-00001"', '"value":"WO-\\ud800"'))
    bad("a value beyond 2^53", alt(lambda d: d["fields"][1].update(value=2**53)))
    bad("a value that overflows to infinity", text(base).replace('"value":6,', '"value":1e400,'))
    bad("a value nested too deep", alt(lambda d: d["fields"][0].update(value=json.loads("[" * 31 + "]" * 31))))
    bad("a nested value with a lone surrogate", text(base).replace('"value":"FLG-045"', '"value":{"k":["\\udc00"]}'))
    bad("not an object", "[]")
    return {
        "full_records.json": {"format": "dpl-record/2", "records": full},
        "partial_valid.json": {"format": "dpl-partial-record/1", "tree": tree, "cases": valid},
        "partial_invalid.json": {"format": "dpl-partial-record/1", "tree": tree, "cases": invalid},
    }


def main(argv: list[str]) -> int:
    stale = []
    for name, content in build().items():
        out = json.dumps(content, ensure_ascii=False, indent=1) + "\n"
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != out:
                stale.append(name)
        else:
            path.write_text(out, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)} (run tests/vectors/record2/gen.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
