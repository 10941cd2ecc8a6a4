"""The browser verifier (api/web/static/js/verify/) gives the Python verifier's verdicts.

1. Its own node tests pass (``node --test tests/js/``).
2. Parity: real ``dpl-proof/1``, ``dpl-consistency/1`` and ``dpl-collateral/1`` bundles built
   here with the Python code (purely: records in memory, no chain), many tampered variants, random
   records, JSON values and byte strings go to one node run (``tests/js/parity_runner.mjs``);
   for every case the JS verdict must equal Python's: the (check name, ok) pairs in order, and
   the reasons, canonical bytes, digests and sample indices.
Node is required: a machine without it fails this test, it does not skip it.
"""

from __future__ import annotations

import copy
import json
import math
import random
import shutil
import struct
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from eth_utils import keccak

from ledger import assets, bundles, jsonio, merkle
from ledger.canonical import CanonicalError, canonicalize
from ledger.chain.check import expected_factory, expected_factory_check, factory_check
from ledger.chain.client import log_id_of
from ledger.covenants import covenants_digest
from ledger.pledge.collateral import Check, CollateralReport, make_collateral_bundle, verify_collateral
from ledger.pledge.terms import Terms
from ledger.directory import Listing
from ledger.errors import BundleError, InvalidArgumentError, RecordError
from ledger.records import prepare_record
from ledger.leaves import leaf_hash_of
from ledger.sampling import sample_indices, sample_seed
from ledger.synthetic import telemetry
from ledger.text import shown

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "js" / "parity_runner.mjs"
STREAM = "line-a/telemetry"
FACTORY = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LOG_ID = log_id_of(FACTORY, STREAM)
REGISTRY = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
BLOCK_HASH = bytes.fromhex("c0ffee" * 10 + "beef")
TOKEN_ID, ISSUE_BLOCK = 7, 1234


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    return node


def test_node_unit_tests_pass():
    proc = subprocess.run([_node(), "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- a pure log


class _Log:
    """Records in memory with salts and leaves: what build_manifest and the bundles need."""

    def __init__(self, records: list[dict], seed: int = 1, record_format: str = "dpl-record/1"):
        rnd = random.Random(seed)
        self.records = records
        self.salts = [rnd.randbytes(32) for _ in records]
        self.leaves = [leaf_hash_of(record_format, s, prepare_record(r, i).canonical)
                       for i, (s, r) in enumerate(zip(self.salts, records))]

    # RecordSource
    def get_log(self, stream):
        return SimpleNamespace(log_id=LOG_ID, size=len(self.records))

    def root_at(self, stream, size=None):
        return merkle.root(self.leaves[:size])

    def iter_records(self, stream, start=0, end=None):
        return (SimpleNamespace(record=self.records[i]) for i in range(start, end))

    def entry(self, index: int, size: int) -> dict:
        return bundles.make_entry(index, self.records[index], self.salts[index], self.leaves[index],
                                  merkle.inclusion_proof(self.leaves[:size], index))


def _mixed_records(n: int, seed: int) -> list[dict]:
    """Telemetry plus records with unicode, big-but-safe ints, tiny and huge floats, other types."""
    rnd = random.Random(seed)
    out = list(telemetry(n, seed=seed))
    for i in range(0, n, 7):
        r = out[i]
        r["data"]["note"] = rnd.choice(["ünïcödé", "日本語", "emoji 😀", "tab\tnew\nline", "\u2028"])
        r["data"]["count"] = rnd.choice([0, -1, 2**53 - 1, -(2**53 - 1), 12345678901])
        r["data"]["tiny"] = rnd.choice([1e-7, 5e-324, 0.1, -2.5e-6, 1e300, 1e21, 123456789.125])
        r["data"]["nested"] = {"é": [1, 2.5, {"k": None, "b": True}], "a": "x"}
    for i in range(3, n, 11):
        out[i]["type"] = "mes.work_order"
        out[i]["ts"] = out[i]["ts"].replace("+08:00", "Z") if i % 2 else out[i]["ts"]
    return out


# --------------------------------------------------------------------------- proof bundles


def _parsed(text: str | bytes):
    """The document as both verifiers read a bundle: by ``ledger.jsonio.loads`` (what ``dpl verify``
    and ``dpl pledge verify`` read a file with), whose refusal (a key twice, nesting deeper than 64,
    NaN, an integer of more than 4,300 digits, invalid UTF-8, a byte-order mark, …) the browser's
    reader gives in the same words."""
    try:
        return jsonio.loads(text, what="the bundle"), None
    except jsonio.JsonInputError as e:
        return None, str(e)


def _python_proof(text: str | bytes) -> dict:
    doc, refused = _parsed(text)
    if refused:
        return {"sound": False, "error": refused, "summary": None}
    try:
        v = bundles.verify(doc)
    except BundleError as e:
        return {"sound": False, "error": str(e), "summary": None}
    return {"sound": True, "error": None, "summary": v.summary}


def _proof_bundles() -> list[object]:
    log = _Log(_mixed_records(90, seed=3), seed=3)
    size = 80
    root = merkle.root(log.leaves[:size])
    good = bundles.make_proof_bundle(STREAM, LOG_ID, size, root, [log.entry(i, size) for i in (0, 5, 31, 63, 79)],
                                     bundles.make_anchor(31337, REGISTRY, b"\x01" * 32, 12))
    docs: list[object] = [good]
    one = bundles.make_proof_bundle(STREAM, None, 1, log.leaves[0], [log.entry(0, 1)])
    docs.append(one)

    def tamper(fn):
        d = copy.deepcopy(good)
        fn(d)
        docs.append(d)

    e0 = lambda d: d["entries"][1]  # noqa: E731
    tamper(lambda d: d.update(format="dpl-proof/2"))
    tamper(lambda d: d.pop("format"))
    tamper(lambda d: d.update(stream=5))
    tamper(lambda d: d.update(stream="line-b/ünï"))
    tamper(lambda d: d["checkpoint"].update(size=81))
    tamper(lambda d: d["checkpoint"].update(size=80.0))
    tamper(lambda d: d["checkpoint"].update(size=-1))
    tamper(lambda d: d["checkpoint"].update(size=2**64 + 80))
    tamper(lambda d: d["checkpoint"].update(size=True))
    tamper(lambda d: d["checkpoint"].update(root="0x" + "00" * 32))
    tamper(lambda d: d["checkpoint"].update(root=d["checkpoint"]["root"].upper()))
    tamper(lambda d: d["checkpoint"].update(root=d["checkpoint"]["root"][:-2]))
    tamper(lambda d: d.update(checkpoint=[]))
    tamper(lambda d: d.update(entries=[]))
    tamper(lambda d: d.update(entries={}))
    tamper(lambda d: d["entries"].reverse())
    tamper(lambda d: d["entries"].append(d["entries"][0]))
    tamper(lambda d: e0(d).update(index=6))
    tamper(lambda d: e0(d).update(index=5.0))
    tamper(lambda d: e0(d).update(index=2**70))
    tamper(lambda d: e0(d).update(index="5"))
    tamper(lambda d: e0(d).update(salt="0x" + "ab" * 32))
    tamper(lambda d: e0(d).update(salt="0x" + "AB" * 32))
    tamper(lambda d: e0(d).update(leaf_hash=d["entries"][0]["leaf_hash"]))
    tamper(lambda d: e0(d).update(proof=e0(d)["proof"][:-1]))
    tamper(lambda d: e0(d).update(proof=e0(d)["proof"] + [e0(d)["proof"][0]]))
    tamper(lambda d: e0(d).update(proof=list(reversed(e0(d)["proof"]))))
    tamper(lambda d: e0(d).update(proof="0x00"))
    tamper(lambda d: e0(d)["proof"].__setitem__(0, "0x" + "cd" * 32))
    tamper(lambda d: e0(d)["proof"].__setitem__(0, 7))
    tamper(lambda d: e0(d)["record"]["data"].update(temp_c=1000.5))
    tamper(lambda d: e0(d)["record"].update(extra=1))
    tamper(lambda d: e0(d)["record"].pop("ts"))
    tamper(lambda d: e0(d).pop("record"))
    tamper(lambda d: e0(d).update(record=[1, 2]))
    tamper(lambda d: e0(d)["record"].update(id=""))
    tamper(lambda d: e0(d)["record"].update(id="a\u200bb"))
    tamper(lambda d: e0(d)["record"].update(id="x" * 129))
    tamper(lambda d: e0(d)["record"].update(ts="2026-02-30T00:00:00Z"))
    tamper(lambda d: e0(d)["record"].update(ts="2026-01-01T00:00:00+24:00"))
    tamper(lambda d: e0(d)["record"].update(ts="2026-01-01t00:00:60z"))
    tamper(lambda d: e0(d)["record"].update(ts="2026-01-01T00:00:00+05:60"))
    # instants outside what a UTC calendar of year 1..9999 names, and the edges just inside
    for ts in ("0001-01-01T00:00:00+23:59", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59",
               "9999-12-31T23:59:60-00:01", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59.999999999Z",
               "9999-12-31t23:59:60z", "0001-01-02T00:00:00+23:59"):
        tamper(lambda d, ts=ts: e0(d)["record"].update(ts=ts))
    tamper(lambda d: e0(d)["record"].update(type="iot..telemetry"))
    tamper(lambda d: e0(d)["record"].update(type=None))
    tamper(lambda d: e0(d)["record"].update(data=[]))
    tamper(lambda d: e0(d)["record"]["data"].update(big=2**53))
    tamper(lambda d: e0(d)["record"]["data"].update(big=2.0**53))
    tamper(lambda d: e0(d)["record"]["data"].update(big=1e21))
    tamper(lambda d: e0(d)["record"]["data"].update(big=float("nan")))
    tamper(lambda d: e0(d)["record"]["data"].update(big=float("inf")))
    tamper(lambda d: e0(d)["record"]["data"].update(lone="\ud800"))
    tamper(lambda d: e0(d)["record"]["data"].update(deep=json.loads("[" * 40 + "]" * 40)))
    tamper(lambda d: e0(d)["record"]["data"].update(huge="x" * 70000))
    tamper(lambda d: d.update(log_id="0x12"))
    tamper(lambda d: d.update(log_id=None))
    tamper(lambda d: d.update(anchor=None))
    tamper(lambda d: d["anchor"].update(chain_id=-5))
    tamper(lambda d: d["anchor"].update(registry="0x1234"))
    tamper(lambda d: d["anchor"].update(registry=REGISTRY.upper().replace("0X", "0x")))
    tamper(lambda d: d.update(extra_field={"anything": [1, 2.5]}))
    tamper(lambda d: d["entries"].insert(0, copy.deepcopy(e0(d))))
    tamper(lambda d: d["anchor"].update(tx_hash=None, block_number=None))
    tamper(lambda d: d["anchor"].pop("tx_hash"))
    tamper(lambda d: d["anchor"].update(tx_hash="0x" + "AB" * 32))
    tamper(lambda d: d["anchor"].update(tx_hash=12))
    tamper(lambda d: d["anchor"].update(block_number=-1))
    tamper(lambda d: d["anchor"].update(block_number=12.0))
    tamper(lambda d: d["anchor"].update(block_number="12"))

    # consistency bundles
    for old in (1, 2, 3, 7, 8, 31, 80):
        new = 80
        docs.append(bundles.make_consistency_bundle(
            STREAM, LOG_ID, old, merkle.root(log.leaves[:old]), new, root, merkle.consistency_proof(log.leaves[:new], old)))
    cons = docs[-3]

    def tamper_c(fn):
        d = copy.deepcopy(cons)
        fn(d)
        docs.append(d)

    # a dpl-record/2 log's bundle names its record format; the verifiers rebuild v2 leaves
    log2 = _Log(_mixed_records(40, seed=8), seed=8, record_format="dpl-record/2")
    root2 = merkle.root(log2.leaves)
    good2 = bundles.make_proof_bundle(STREAM, LOG_ID, 40, root2, [log2.entry(i, 40) for i in (0, 7, 39)],
                                      bundles.make_anchor(31337, REGISTRY, b"\x01" * 32, 12), "dpl-record/2")
    assert good2["record_format"] == "dpl-record/2" and bundles.verify(good2).record_format == "dpl-record/2"
    docs.append(good2)
    for fn in (lambda d: d.pop("record_format"),  # read as v1: every leaf differs
               lambda d: d.update(record_format="dpl-record/3"),
               lambda d: d.update(record_format=None),
               lambda d: d.update(record_format=2),
               lambda d: d["entries"][1]["record"]["data"].update(temp_c=1000.5),
               lambda d: d["entries"][1].update(salt=d["entries"][0]["salt"]),
               lambda d: d["entries"][2]["record"].update(id="other")):
        d = copy.deepcopy(good2)
        fn(d)
        docs.append(d)
    relabelled = copy.deepcopy(good)  # a v1 bundle said to be v2
    relabelled["record_format"] = "dpl-record/2"
    docs.append(relabelled)
    v1_named = copy.deepcopy(good)  # naming v1 is the same as not naming it
    v1_named["record_format"] = "dpl-record/1"
    docs.append(v1_named)

    tamper_c(lambda d: d["old"].update(size=8))
    tamper_c(lambda d: d["new"].update(size=79))
    tamper_c(lambda d: d["old"].update(root=d["new"]["root"]))
    tamper_c(lambda d: d.update(proof=d["proof"][1:]))
    tamper_c(lambda d: d.update(proof=[]))
    tamper_c(lambda d: d.update(proof="nope"))
    tamper_c(lambda d: d["old"].update(size=0))
    tamper_c(lambda d: d["old"].update(size=81))
    tamper_c(lambda d: d.update(stream=None))
    tamper_c(lambda d: d.update(old=None))
    docs.append(bundles.make_consistency_bundle(STREAM, LOG_ID, 5, merkle.root(log.leaves[:5]), 5, merkle.root(log.leaves[:5]), []))
    docs += [None, [], "dpl-proof/1", {"format": "dpl-unknown/1"}, {}]
    # texts a JSON library would not write: a key twice, at any depth (refused, naming its path)
    text = json.dumps(good)
    docs += [_Raw(t) for t in [text.replace('"stream": ', '"stream": "line-b/x", "stream": ', 1),
             text.replace('"index": 5,', '"index": 5, "index": 6,', 1),
             text.replace('"type": ', '"type": "x", "type": ', 2),
             text.replace('"root": ', '"root": 1, "b": 2, "b": 3, "root": ', 1),
             text.replace('"anchor": {', '"anchor": {"chain_id": 1, ', 1),
             text.replace('"log_id": ', '"log\\u005fid": null, "log_id": ', 1),
             "[" + text + ", {\"k\": 1, \"k\": 1}]"]]
    # what ledger.jsonio refuses in a bundle, unused fields included: the browser's reader too
    deep = "[" * 70 + "]" * 70
    docs += [_Raw(t) for t in [
        text[:-1] + ', "unused": ' + deep + "}",
        text[:-1] + ', "unused": ' + "[" * 64 + "]" * 64 + "}",  # 65 levels with the bundle's own
        text[:-1] + ', "unused": ' + "[" * 63 + "]" * 63 + "}",  # 64: allowed
        text[:-1] + ', "unused": [NaN]}', text[:-1] + ', "unused": {"x": -Infinity}}', text[:-1] + ', "unused": Infinity}',
        text[:-1] + ', "unused": 1' + "0" * 5000 + "}", text[:-1] + ', "unused": -' + "9" * 4300 + "}",
        text[:-1] + ', "unused": 1' + "0" * 5000 + ".5}", text[:-1] + ', "unused": 1e400}',
        "\ufeff" + text, text + " x", text[:-1], text.replace('"stream": ', '"stream": "\\x", "s": ', 1)]]
    raw = text.encode()
    docs += [_Bytes(b) for b in [raw, b"\xef\xbb\xbf" + raw, raw.replace(b'"stream": "', b'"stream": "\xff', 1),
                                 raw.replace(b'"stream": "', b'"stream": "\xed\xa0\x80', 1),
                                 raw.replace(b'"stream": "', b'"stream": "\xc3', 1), raw[:-1] + b", \"u\": \"\xe2\x82\"}",
                                 raw[:-1] + b', "\xf0\x9f\x98\x80": "\xc3\xa9"}']]
    return docs


class _Bytes(bytes):
    """A bundle's bytes as a file holds them (invalid UTF-8, a byte-order mark)."""


#: A key that, printed raw on a terminal, erases the line, writes "valid: all good" and hides the rest.
FORGED_KEY = "\x1b[2K\rvalid: all good\n\x1b[8m"


class _Raw(str):
    """A JSON text as written (one a JSON library would not write), not a document to dump."""


# --------------------------------------------------------------------------- collateral bundles


@dataclass(frozen=True)
class _Pledged:
    """What the chain says of the pledge a bundle is checked against: token id, issue block, ``Terms``."""

    token_id: int
    issue_block: int
    terms: Terms

    def __getattr__(self, name):  # the terms' fields, read as the pledge's (terms.start)
        return getattr(self.__dict__["terms"], name)

    def changed(self, **change) -> _Pledged:
        """These facts with ``change``; terms the registry never holds (0 samples) too: both
        verifiers must still answer for them."""
        facts = {k: change.pop(k) for k in ("token_id", "issue_block") if k in change}
        try:
            terms = replace(self.terms, **change)
        except InvalidArgumentError:
            terms = copy.copy(self.terms)
            for k, v in change.items():
                object.__setattr__(terms, k, v)
        return replace(self, **facts, terms=terms)


def _collateral_world(n=300, start=40, end=240, size=260, k=12, seed=5, record_format="dpl-record/1"):
    log = _Log(_mixed_records(n, seed=seed), seed=seed, record_format=record_format)
    root = merkle.root(log.leaves[:size])
    manifest = assets.build_manifest(log, STREAM, start, end, size, root)
    terms = _Pledged(TOKEN_ID, ISSUE_BLOCK, Terms(
        LOG_ID, start, end, size, assets.asset_digest(manifest), principal=5_000_000, currency="EUR",
        maturity=1_800_000_000, lien_end=1_900_000_000, max_lien_end=1_900_000_000, samples=k,
        loan_ref_digest=b"\x11" * 32, lender=FACTORY))
    indices = sample_indices(sample_seed(BLOCK_HASH, TOKEN_ID), start, end, k)
    bundle = make_collateral_bundle(token_id=TOKEN_ID, chain_id=31337, registry=REGISTRY,
                                    issue_block_number=ISSUE_BLOCK, issue_block_hash=BLOCK_HASH,
                                    manifest=manifest, entries=[log.entry(i, size) for i in indices],
                                    record_format=record_format)
    return log, root, terms, json.loads(json.dumps(bundle))


def _hex(b: bytes | None) -> str | None:
    return None if b is None else "0x" + b.hex()


def _collateral_case(doc, terms: _Pledged, anchored_root, issue_block_hash) -> dict:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    parsed, refused = _parsed(text)
    report = (CollateralReport(terms.token_id, [Check("format", False, refused)]) if refused else
              verify_collateral(parsed, token_id=terms.token_id, terms=terms.terms, issue_block=terms.issue_block,
                                anchored_root=anchored_root, issue_block_hash=issue_block_hash))
    case = {"kind": "collateral", "text": text,
            "terms": {"tokenId": terms.token_id, "logId": _hex(terms.log_id), "start": terms.start, "end": terms.end,
                      "checkpointSize": terms.checkpoint_size, "assetDigest": _hex(terms.asset_digest),
                      "samples": terms.samples, "issueBlock": terms.issue_block,
                      "covenantsDigest": _hex(terms.covenants_digest)},
            "anchored_root": _hex(anchored_root), "issue_block_hash": _hex(issue_block_hash)}
    expected = {"sound": report.sound, "token_id": str(report.token_id),
                "checks": [[c.name, c.ok, c.detail] for c in report.checks]}
    return case, expected


def _collateral_cases() -> list[tuple[dict, dict]]:
    log, root, terms, good = _collateral_world()
    out = [_collateral_case(good, terms, root, BLOCK_HASH)]
    # every index sampled (k >= n), and a pledge at the very start of the log
    log2, root2, terms2, all_of_it = _collateral_world(n=40, start=0, end=9, size=12, k=20, seed=9)
    out.append(_collateral_case(all_of_it, terms2, root2, BLOCK_HASH))
    # a pledged dpl-record/2 log: sound; read as v1 (record_format dropped) every leaf fails
    _, root3, terms3, v2 = _collateral_world(n=60, start=5, end=50, size=55, k=8, seed=4, record_format="dpl-record/2")
    assert v2["record_format"] == "dpl-record/2"
    out.append(_collateral_case(v2, terms3, root3, BLOCK_HASH))
    for fn in (lambda d: d.pop("record_format"), lambda d: d.update(record_format="dpl-record/9"),
               lambda d: d["entries"][3]["record"]["data"].update(temp_c=-1.5)):
        d = copy.deepcopy(v2)
        fn(d)
        out.append(_collateral_case(d, terms3, root3, BLOCK_HASH))

    def variant(fn=None, *, terms_=terms, anchored=root, block=BLOCK_HASH, raw_text=None):
        if raw_text is not None:
            out.append(_collateral_case(raw_text, terms_, anchored, block))
            return
        d = copy.deepcopy(good)
        fn(d)
        out.append(_collateral_case(d, terms_, anchored, block))

    same = lambda d: None  # noqa: E731
    m = lambda d: d["manifest"]  # noqa: E731
    e = lambda d, i=2: d["entries"][i]  # noqa: E731
    rec = lambda d, i=2: d["entries"][i]["record"]  # noqa: E731
    ftype = lambda d: next(iter(d["manifest"]["types"].values()))  # noqa: E731
    field = lambda d, name="temp_c": d["manifest"]["types"]["iot.telemetry"]["fields"][name]  # noqa: E731
    # the chain's side changes
    variant(same, anchored=None)
    variant(same, anchored=b"\x05" * 32)
    variant(same, block=None)
    variant(same, block=b"\x06" * 32)
    for change in ({"token_id": 8}, {"log_id": b"\x33" * 32}, {"start": 41}, {"end": 239}, {"checkpoint_size": 261},
                   {"asset_digest": b"\x00" * 32}, {"samples": 13}, {"samples": 11}, {"samples": 0}, {"issue_block": 1},
                   {"start": 240}, {"samples": 500}):
        variant(same, terms_=terms.changed(**change))
    # the covenants the bundle carries against the terms' covenantsDigest (zero: none)
    covenants = {"format": "dpl-covenants/1", "tz": "+08:00",
                 "covenants": [{"code": "anchoring_cadence", "max_hours": 48},
                               {"code": "scrap_ceiling", "max_ratio": "0.050000"}]}
    pledged = terms.changed(covenants_digest=covenants_digest(covenants))
    forged = copy.deepcopy(covenants)
    forged["covenants"][1]["max_ratio"] = "0.500000"
    variant(lambda d: d.update(covenants=covenants), terms_=pledged)  # the agreed set: sound
    variant(lambda d: d.update(covenants=dict(reversed(list(covenants.items())))), terms_=pledged)  # same set
    variant(lambda d: d.update(covenants=forged), terms_=pledged)  # a forged set
    variant(same, terms_=pledged)  # the set left out
    variant(lambda d: d.update(covenants=covenants))  # a set the pledge never agreed to
    variant(lambda d: d.update(covenants=None))  # null: none
    variant(lambda d: d.update(covenants=[covenants]), terms_=pledged)
    variant(lambda d: d.update(covenants={"n": 2**60}), terms_=pledged)  # not canonical I-JSON
    # the bundle's top level
    variant(lambda d: d.update(format="dpl-collateral/2"))
    variant(lambda d: d.pop("format"))
    variant(lambda d: d.update(token_id=8))
    variant(lambda d: d.update(token_id=7.0))
    variant(lambda d: d.update(token_id="7"))
    variant(lambda d: d.update(token_id=2**256 + 7))
    variant(lambda d: d.update(token_id=True))
    variant(lambda d: d.update(chain_id=-1))
    variant(lambda d: d.update(chain_id=1.5))
    variant(lambda d: d.update(registry=REGISTRY))
    variant(lambda d: d.update(registry=REGISTRY.upper().replace("0X", "0x")))
    variant(lambda d: d.update(registry="0x5fbDB2315678afecb367f032d93F642f64180aa3"))
    variant(lambda d: d.update(registry=REGISTRY[2:]))
    variant(lambda d: d.update(registry="0x1234"))
    variant(lambda d: d.update(registry=None))
    variant(lambda d: d.update(issue=None))
    variant(lambda d: d["issue"].update(block_number=1235))
    variant(lambda d: d["issue"].update(block_number=-1))
    variant(lambda d: d["issue"].update(block_hash="0x" + "07" * 32))
    variant(lambda d: d["issue"].update(block_hash=d["issue"]["block_hash"].upper()))
    variant(lambda d: d.update(seed="0x" + "08" * 32))
    variant(lambda d: d.update(seed="0x" + keccak(BLOCK_HASH + (8).to_bytes(32, "big")).hex()))
    variant(lambda d: d.update(seed=None))
    # the manifest
    variant(lambda d: d.update(manifest=None))
    variant(lambda d: m(d).update(format="dpl-asset/2"))
    variant(lambda d: m(d).pop("format"))
    variant(lambda d: m(d).update(log_id="0x" + "33" * 32))
    variant(lambda d: m(d).update(log_id="0X" + "22" * 32))
    variant(lambda d: m(d).update(stream=""))
    variant(lambda d: m(d).update(stream="line-a/télémetry"))
    variant(lambda d: m(d)["range"].update({"from": 41}))
    variant(lambda d: m(d)["range"].update({"from": 240}))
    variant(lambda d: m(d)["range"].update({"to": 2**70}))
    variant(lambda d: m(d)["range"].update({"from": 40.0}))
    variant(lambda d: m(d)["checkpoint"].update(size=239))
    variant(lambda d: m(d)["checkpoint"].update(size=261))
    variant(lambda d: m(d)["checkpoint"].update(root="0x" + "44" * 32))
    variant(lambda d: m(d)["checkpoint"].update(root=None))
    variant(lambda d: m(d).update(records=201))
    variant(lambda d: m(d).pop("records"))
    variant(lambda d: m(d)["period"].update(first_ts=m(d)["period"]["last_ts"], last_ts=m(d)["period"]["first_ts"]))
    variant(lambda d: m(d)["period"].update(first_ts="2026-10-01 08:00:00"))
    variant(lambda d: m(d)["period"].update(first_ts="2026-02-30T00:00:00Z"))
    variant(lambda d: m(d)["period"].update(last_ts="2026-10-01T07:59:99+08:00"))
    variant(lambda d: m(d)["period"].update(first_ts="2026-10-01T00:00:10Z"))
    variant(lambda d: m(d)["period"].update(last_ts="2026-10-01T00:00:10Z"))
    variant(lambda d: ftype(d).update(count=ftype(d)["count"] + 1))
    variant(lambda d: ftype(d).update(count=0))
    variant(lambda d: m(d)["types"].update({"erp.extra": {"count": 1, "fields": {}}}))
    variant(lambda d: m(d)["types"].pop("mes.work_order"))
    variant(lambda d: field(d).update(count=10**6))
    variant(lambda d: field(d).update(min=field(d)["max"] + 1))
    variant(lambda d: field(d).update(min=100.0))
    variant(lambda d: field(d).update(max=60.0))
    variant(lambda d: field(d).update(max="1e400"))
    variant(lambda d: field(d).update(max="1e999999999999999999"))
    variant(lambda d: field(d).update(max="123e999999999999999998"))
    variant(lambda d: field(d).update(min="-1E+5", max="9.99e2"))
    variant(lambda d: field(d).update(max="70.5"))
    variant(lambda d: field(d).update(sum="NaN"))
    variant(lambda d: field(d).update(sum=float("inf")))
    variant(lambda d: field(d).update(sum=2**80))
    variant(lambda d: field(d).update(sum=True))
    variant(lambda d: field("x", None) if False else field(d, "parts_total").update(max=2**53 + 5))
    variant(lambda d: field(d, "parts_total").update(max=9007199254740993.0))
    variant(lambda d: field(d, "spindle_rpm").update(min=1400.5))
    variant(lambda d: field(d).pop("sum"))
    variant(lambda d: m(d)["types"]["iot.telemetry"]["fields"].pop("temp_c"))
    variant(lambda d: m(d).update(extra={"note": "ünï", "n": [1, 2.5, None]}))
    variant(lambda d: m(d).update(extra=2**60))
    variant(lambda d: m(d).update(extra=1e300))
    variant(lambda d: m(d).update(extra="\udc00"))
    # the entries
    variant(lambda d: d.update(entries=[]))
    variant(lambda d: d.update(entries=None))
    variant(lambda d: d["entries"].reverse())
    variant(lambda d: d["entries"].__setitem__(slice(1, 3), [d["entries"][2], d["entries"][1]]))
    variant(lambda d: d["entries"].pop())
    variant(lambda d: d["entries"].append(d["entries"][-1]))
    variant(lambda d: d["entries"].pop(0))
    variant(lambda d: d["entries"].extend(d["entries"]))
    variant(lambda d: e(d).update(index=e(d)["index"] + 1))
    variant(lambda d: e(d).update(index=float(e(d)["index"])))
    variant(lambda d: e(d).update(index=-3))
    variant(lambda d: e(d).pop("record"))
    variant(lambda d: e(d).update(record=None))
    variant(lambda d: e(d).update(salt="0x" + "99" * 32))
    variant(lambda d: e(d).update(salt=None))
    variant(lambda d: e(d).update(leaf_hash=e(d, 3)["leaf_hash"]))
    variant(lambda d: e(d).update(leaf_hash="0x" + "9" * 63))
    variant(lambda d: e(d).update(proof=e(d)["proof"][:-1]))
    variant(lambda d: e(d).update(proof=e(d)["proof"] + ["0x" + "00" * 32]))
    variant(lambda d: e(d).update(proof=e(d, 3)["proof"]))
    variant(lambda d: e(d).update(proof=None))
    variant(lambda d: e(d)["proof"].__setitem__(0, "0xzz"))
    variant(lambda d: rec(d)["data"].update(temp_c=rec(d)["data"]["temp_c"] + 0.01))
    variant(lambda d: rec(d)["data"].update(temp_c=1000.0))
    variant(lambda d: rec(d)["data"].update(temp_c=-1000))
    variant(lambda d: rec(d)["data"].update(temp_c=2**80))
    variant(lambda d: rec(d)["data"].update(temp_c=float("nan")))
    variant(lambda d: rec(d)["data"].update(temp_c=float("-inf")))
    variant(lambda d: rec(d)["data"].update(temp_c="68.0"))
    variant(lambda d: rec(d)["data"].update(temp_c=True))
    variant(lambda d: rec(d)["data"].update(new_number=1))
    variant(lambda d: rec(d)["data"].update(parts_total=9007199254740993))
    variant(lambda d: rec(d)["data"].update(ünï=5))
    variant(lambda d: rec(d).update(type="erp.sales_order"))
    variant(lambda d: rec(d).update(type=7))
    variant(lambda d: rec(d).update(ts="2026-10-01T07:00:00+08:00"))
    variant(lambda d: rec(d).update(ts="2030-01-01T00:00:00Z"))
    variant(lambda d: rec(d).update(ts="yesterday"))
    variant(lambda d: rec(d).update(ts=None))
    variant(lambda d: rec(d).update(id="tel-\u00e9"))
    variant(lambda d: rec(d).update(id="tel\n"))
    variant(lambda d: rec(d).update(data=None))
    variant(lambda d: rec(d).update(extra="x"))
    variant(lambda d: rec(d).pop("id"))
    # texts a JSON library would not write
    text = json.dumps(good)
    variant(raw_text=text.replace('"token_id": 7', '"token_id": 7.0'))
    variant(raw_text=text.replace('"token_id": 7', '"token_id": 7e0'))
    variant(raw_text=text.replace('"token_id": 7', '"token_id": 7, "token_id": 8'))
    variant(raw_text=text.replace('"chain_id": 31337', '"chain_id": 31337.000'))
    variant(raw_text=text.replace('"token_id": 7', '"token_id": 115792089237316195423570985008687907853269984665640564039457584007913129639943'))
    variant(raw_text=text.replace('"temp_c": ', '"temp_c": -0.0, "t2": ', 1))
    variant(raw_text=text.replace('"records": 200', '"records": 200.0'))
    variant(raw_text=text.replace('"records": 200', '"records": 2e2'))
    variant(raw_text=text.replace('"stream": ', '"stream": "globex/line-a", "stream": ', 1))
    variant(raw_text=text.replace('"salt": ', '"salt": null, "salt": ', 3))
    variant(raw_text=text.replace('"temp_c": ', '"temp_c": 1, "temp_c": ', 1))
    return out


def _collateral_world_v2(days=10, start=3, cut=3, k=30, lie=None):
    """A pledge over a log of all three record types whose manifest is dpl-asset/2 (the range's
    profile in +08:00); ``lie(profile)`` edits the profile before the pledge commits to it."""
    from ledger.profile import build_profile
    from ledger.synthetic import factory_month

    log = _Log(list(factory_month(days=days)), seed=days)
    n = len(log.records)
    end, size = n - cut, n - 1
    root = merkle.root(log.leaves[:size])
    profile = build_profile(((i, json.loads(prepare_record(log.records[i], i).canonical)) for i in range(start, end)),
                            log_id=LOG_ID, stream=STREAM, start=start, end=end, checkpoint_size=size,
                            checkpoint_root=root, tz="+08:00")
    if lie is not None:
        lie(profile)
    manifest = assets.build_manifest(log, STREAM, start, end, size, root, profile=profile)
    terms = _Pledged(TOKEN_ID, ISSUE_BLOCK, Terms(
        LOG_ID, start, end, size, assets.asset_digest(manifest), principal=5_000_000, currency="EUR",
        maturity=1_800_000_000, lien_end=1_900_000_000, max_lien_end=1_900_000_000, samples=k,
        loan_ref_digest=b"\x11" * 32, lender=FACTORY))
    indices = sample_indices(sample_seed(BLOCK_HASH, TOKEN_ID), start, end, k)
    bundle = make_collateral_bundle(token_id=TOKEN_ID, chain_id=31337, registry=REGISTRY,
                                    issue_block_number=ISSUE_BLOCK, issue_block_hash=BLOCK_HASH,
                                    manifest=manifest, entries=[log.entry(i, size) for i in indices])
    return log, root, terms, json.loads(json.dumps(bundle))


def _collateral_cases_v2() -> list[tuple[dict, dict]]:
    """dpl-asset/2 bundles: sound ones (k = 1, 30, 100), lies the samples catch (a day's output or
    sales below a sampled record's, an unlisted machine, product or day), and manifests whose
    profile is malformed or of another asset."""
    out = []
    for k in (1, 30, 100):
        _, root, terms, good = _collateral_world_v2(k=k)
        out.append(_collateral_case(good, terms, root, BLOCK_HASH))
    _, root, terms, good = _collateral_world_v2()
    entries = good["entries"]

    def first(type_):
        return next((e["record"] for e in entries if e["record"]["type"] == type_), None)

    order, sale, reading = first("mes.work_order"), first("erp.sales_order"), first("iot.telemetry")
    assert order and sale and reading, "the sample must hold every record type"

    def day_of(rec, key, value):
        return lambda p: [d.update({key: value}) for d in p["daily"] if d["day"] == rec["ts"][:10]]

    def at(*path, value):
        def lie(p):
            target = p
            for key in path[:-1]:
                target = target[key]
            if value is None:
                target.pop(path[-1])
            else:
                target[path[-1]] = value
        return lie

    lies = [
        day_of(order, "mes_good", order["data"]["qty_good"] - 1),
        day_of(sale, "sales_minor", {sale["data"]["currency"]: sale["data"]["amount_minor"] - 1}),
        day_of(sale, "sales_minor", {}),
        lambda p: p["daily"].pop(0),
        at("iot", "machines", reading["data"]["machine"], value=None),
        at("mes", "by_product", order["data"]["product"], value=None),
        at("mes", "by_product", order["data"]["product"], "qty_good", value=order["data"]["qty_good"] - 1),
        at("sales", "by_currency", sale["data"]["currency"], "by_customer", sale["data"]["customer"], value=1),
        at("mes", "qty_good", value=1),  # a total no sampled record can contradict
    ]
    for lie in lies:
        _, root_, terms_, lying = _collateral_world_v2(lie=lie)
        out.append(_collateral_case(lying, terms_, root_, BLOCK_HASH))

    def variant(fn):
        d = copy.deepcopy(good)
        fn(d)
        out.append(_collateral_case(d, terms, root, BLOCK_HASH))

    prof = lambda d: d["manifest"]["profile"]  # noqa: E731
    variant(lambda d: prof(d)["mes"].update(qty_good=prof(d)["mes"]["qty_good"] + 1))  # the digest catches it
    variant(lambda d: d["manifest"].pop("profile"))
    variant(lambda d: d["manifest"].update(profile=None))
    variant(lambda d: d["manifest"].update(format="dpl-asset/1"))  # v1 with an extra field: no day checks
    variant(lambda d: d["manifest"].update(format="dpl-asset/3"))
    variant(lambda d: prof(d).pop("mes"))
    variant(lambda d: prof(d).update(format="dpl-profile/2"))
    variant(lambda d: prof(d).update(stream="other/stream"))
    variant(lambda d: prof(d).update(log_id="0x" + "33" * 32))
    variant(lambda d: prof(d)["range"].update({"from": prof(d)["range"]["from"] + 1}))
    variant(lambda d: prof(d)["checkpoint"].update(size=prof(d)["checkpoint"]["size"] + 1))
    variant(lambda d: prof(d)["checkpoint"].update(root="0x" + "55" * 32))
    variant(lambda d: prof(d).update(tz="+25:00"))
    variant(lambda d: prof(d)["thresholds"].pop("max_gap_s"))
    variant(lambda d: prof(d).update(daily=[]))
    variant(lambda d: entries_record(d).update(ts="not a time"))
    # odd bodies a well-formed profile may hold: both verifiers list (or skip) the same figures
    odd = [lambda p: p.update(mes={}), lambda p: p["iot"].update(machines=[]),
           lambda p: p.update(sales={"by_currency": {"😀": {"amount_minor": 2**52, "top1_share": None},
                                                     "Z": {"amount_minor": 1.5}, "a": 7}}),
           lambda p: p.update(cross_source=None), lambda p: p["coverage"].update(records="9007199254740993"),
           lambda p: [d.update(mes_good=str(d["mes_good"])) for d in p["daily"]]]
    for lie in odd:
        _, root_, terms_, doc = _collateral_world_v2(lie=lie)
        out.append(_collateral_case(doc, terms_, root_, BLOCK_HASH))
    return out


def entries_record(d, i=0):
    return d["entries"][i]["record"]


# --------------------------------------------------------------------------- random values


def _random_float(rnd: random.Random) -> float:
    kind = rnd.random()
    if kind < 0.4:
        return struct.unpack("<d", rnd.randbytes(8))[0]
    if kind < 0.6:
        return rnd.uniform(-1e6, 1e6)
    if kind < 0.8:
        return float(rnd.randint(-(2**60), 2**60)) * rnd.choice([1, 0.5, 1e-10, 1e10])
    return rnd.choice([0.0, -0.0, 1e-5, 9.999999999999999e-6, 1e16, 1e21, 9.999999999999999e20, 2.0**53,
                       2.0**53 - 1, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3])


_ALPHABET = "abcXYZ09 _-.é€😀\u0000\u001f\"\\/\u007f\u2028\ud7ff\ue000\uffff\U0001F600" + "\u0301\u200b\ud800\udc00"


def _random_string(rnd: random.Random, n=8) -> str:
    return "".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(0, n)))


def _random_json(rnd: random.Random, depth=0):
    r = rnd.random()
    if depth > 3 or r < 0.45:
        kind = rnd.randrange(7)
        if kind == 0:
            return rnd.choice([None, True, False])
        if kind == 1:
            return rnd.randint(-(2**53 + 5), 2**53 + 5) if rnd.random() < 0.5 else rnd.randint(-1000, 1000)
        if kind in (2, 3):
            return _random_float(rnd)
        return _random_string(rnd)
    if r < 0.7:
        return [_random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return {_random_string(rnd, 5): _random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}


def _random_ts(rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return rnd.choice(["2026-10-01T08:00:00+08:00", "2024-02-29T23:59:60Z", "2023-02-29T00:00:00Z",
                           "2026-01-31t08:00:00.123456789z", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
    y = rnd.choice(["0000", "0001", "1999", "2000", "2024", "2100", "9999"])
    parts = [y, f"{rnd.randint(0, 13):02d}", f"{rnd.randint(0, 32):02d}"]
    t = f"{rnd.randint(0, 25):02d}:{rnd.randint(0, 61):02d}:{rnd.randint(0, 61):02d}"
    frac = rnd.choice(["", ".5", ".123456", ".1234567891", "."])
    off = rnd.choice(["Z", "z", "+00:00", "-00:00", f"+{rnd.randint(0, 25):02d}:{rnd.randint(0, 99):02d}",
                      f"-{rnd.randint(0, 25):02d}:{rnd.randint(0, 60):02d}", "", "+0800"])
    return f"{'-'.join(parts)}{rnd.choice('TTTt ')}{t}{frac}{off}"


def _random_record(rnd: random.Random) -> object:
    if rnd.random() < 0.6:  # a valid frame, so the data's canonical bytes are compared
        return {"id": f"r-{rnd.getrandbits(20)}", "ts": "2026-10-01T08:00:00.5+08:00", "type": "iot.telemetry",
                "data": {_random_string(rnd, 4): _random_json(rnd) for _ in range(rnd.randint(0, 6))}}
    rec = {"id": rnd.choice(["r-1", "", "x" * 128, "x" * 129, "é😀", "a\u200bb", "tab\t", "\u00a0", "\u3000", "ok"]),
           "ts": _random_ts(rnd),
           "type": rnd.choice(["iot.telemetry", "a", "a.b-c_d", "1a", "a..b", "a.", "é", "x" * 129, "ok.ok"]),
           "data": {_random_string(rnd, 4): _random_json(rnd) for _ in range(rnd.randint(0, 5))}}
    r = rnd.random()
    if r < 0.05:
        rec.pop(rnd.choice(list(rec)))
    elif r < 0.1:
        rec[rnd.choice(["extra", "ID", "zz"])] = 1
    elif r < 0.15:
        rec[rnd.choice(["id", "ts", "type", "data"])] = _random_json(rnd)
    return rec


def _python_record(value) -> dict:
    try:
        return {"canonical": "0x" + prepare_record(value, 0).canonical.hex()}
    except RecordError as e:
        return {"error": e.reason}


def _python_canonical(value) -> dict:
    try:
        return {"canonical": "0x" + canonicalize(value).hex()}
    except CanonicalError as e:
        return {"error": str(e)}


# --------------------------------------------------------------------------- the JSON reader

_PIECES = ["{", "}", "[", "]", '"', ",", ":", "\\", " ", "\n", "\t", "\r", "0", "1", "-", "+", ".", "e", "E", "n",
           "null", "true", "fals", "NaN", "Infinity", "-Infinity", "-Inf", "\\u", "\\ud83d", "\\udc00", "\\u12",
           "\\uzzzz", "\\x", "\x01", "\x7f", "é", "😀", "\ufeff", "1e400", "1" * 4301, "-" + "2" * 4300, "[" * 66,
           "]" * 66, '"a"', '"a":1', '"k":1,"k":2']


def _mutated(text: str, rnd: random.Random) -> str:
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randint(0, len(text))
        op = rnd.random()
        if op < 0.35:
            text = text[:at] + rnd.choice(_PIECES) + text[at:]
        elif op < 0.6:
            text = text[:at] + text[at + rnd.randint(1, 3):]
        elif op < 0.8:
            text = text[:at] + rnd.choice(_PIECES) + text[at + 1:]
        else:
            text = text[:at]
    return text


def _python_json(raw: str | bytes) -> dict:
    try:
        return {"value": repr(jsonio.loads(raw))}
    except jsonio.JsonInputError as e:
        return {"error": e.reason + (f" (at {e.path})" if e.path else "")}


def _json_cases(rnd: random.Random) -> list[tuple[dict, dict]]:
    """ledger.jsonio.loads and verify/json.js parseJson on valid and broken texts and bytes: the same
    value (Python's repr of it) or the same refusal, word for word (Python's json messages, line and
    column included)."""
    bases = [json.dumps(_random_json(rnd), ensure_ascii=rnd.random() < 0.5, indent=rnd.choice([None, 1]))
             for _ in range(300)]
    bases += ['{"a": [1, 2.5, {"b": null}], "c": "d"}', '[true, false, null, -0, -0.0, 1e5, 1E-5, 0.5e+3]']
    out = []
    for base in bases:
        for text in [base, _mutated(base, rnd), _mutated(base, rnd), _mutated(base, rnd), _mutated(base, rnd)]:
            out.append(({"kind": "json", "text": text}, _python_json(text)))
    for base in bases[:150]:
        raw = bytearray(base.encode("utf-8", "surrogatepass"))
        for _ in range(rnd.randint(1, 2)):
            at = rnd.randint(0, len(raw))
            raw[at:at] = rnd.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xe2\x82", b"\xf4\x90\x80\x80",
                                     b"\xc0\xaf", b"\x80", b"\xf0\x9f\x98\x80", b"\xc3\xa9"])
        out.append(({"kind": "json", "hex": "0x" + bytes(raw).hex()}, _python_json(bytes(raw))))
    return out


# --------------------------------------------------------------------------- whose log is it


def _factory_cases(rnd: random.Random) -> list[tuple[dict, dict]]:
    """The "factory" check (``ledger.chain.check.factory_check``, JS ``factoryCheck``) on the facts
    the chain side reads: the log id, the stream the bundle names, the registry's factory for the
    log and its directory name (text from the chain, escaped when printed)."""
    names = [None, "ACME Precision Co.", "艾克米精密", "tab\there", "new\nline", "esc\x1b[31m", "rtl\u202eoC.EMCA",
             "zero\u200bwidth", "nbsp\u00a0x", "soft\u00adhyphen", "del\x7f", "emoji 😀", "tag\U000e0001", "\ufffd", "'\"\\"]
    streams = [STREAM, "line-b/telemetry", "", "ünï/😀", "x" * 40, "a'b", "lone\ud800", 7, None]
    out = []
    for _ in range(120):
        stream = rnd.choice(streams)
        factory = rnd.choice([FACTORY, FACTORY, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", None])
        name = rnd.choice(names)
        log_id = rnd.choice([LOG_ID, log_id_of(FACTORY, "ünï/😀"), bytes(32)])
        if rnd.random() < 0.3 and isinstance(stream, str) and factory and "\ud800" not in stream:
            log_id = log_id_of(factory, stream)
        if name and rnd.random() < 0.3:  # UTF-8 read from the chain: no lone surrogates
            name += "".join(rnd.choice(_ALPHABET.replace("\ud800", "").replace("\udc00", "")) for _ in range(3))
        listing = Listing(factory, name, b"\x01" * 32) if factory and name else None
        c = factory_check(log_id, stream, factory, listing)
        out.append(({"kind": "factory", "log_id": "0x" + log_id.hex(), "stream": stream, "factory": factory,
                     "name": name if listing else None},
                    {"check": [c.name, c.ok, c.detail]}))
        # the factory the lender expects (--factory, the page's field), in any valid spelling
        expected = rnd.choice([FACTORY, FACTORY.lower(), "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"])
        c = expected_factory_check(factory, listing, expected_factory(expected))
        out.append(({"kind": "expected factory", "factory": factory, "name": name if listing else None,
                     "expected": expected}, {"check": [c.name, c.ok, c.detail]}))
    return out


# --------------------------------------------------------------------------- the test


def _text(value, ascii_only: bool) -> str:
    """JSON text as a file would hold it: raw UTF-8 where it can be (a lone surrogate cannot be
    UTF-8, so a text holding one is written with escapes)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _all_cases() -> list[tuple[dict, dict]]:
    cases = []
    for doc in _proof_bundles():
        if isinstance(doc, _Bytes):
            cases.append(({"kind": "proof", "hex": "0x" + doc.hex()}, _python_proof(bytes(doc))))
            continue
        text = str(doc) if isinstance(doc, _Raw) else _text(doc, ascii_only=len(cases) % 2 == 0)
        cases.append(({"kind": "proof", "text": text}, _python_proof(text)))
    cases += _collateral_cases()
    cases += _collateral_cases_v2()
    rnd = random.Random(20260)
    cases += _factory_cases(rnd)
    for _ in range(700):
        text = _text(_random_record(rnd), ascii_only=rnd.random() < 0.5)
        cases.append(({"kind": "record", "text": text}, _python_record(json.loads(text))))
    for _ in range(700):
        text = json.dumps(_random_json(rnd))
        cases.append(({"kind": "canonical", "text": text}, _python_canonical(json.loads(text))))
    for _ in range(400):
        text = json.dumps(_random_float(rnd))
        cases.append(({"kind": "canonical", "text": text}, _python_canonical(json.loads(text))))
    cases += _json_cases(rnd)
    # text from outside shown on a screen (ledger.text.shown, JS shown): the same escapes
    for text in [FORGED_KEY, "\u202e\u2066\u200b\u00ad\u2028\u00a0\x85\x9b\x7f\t", "艾克米 ACME 😀", "\U000e0001\U0010ffff"]:
        cases.append(({"kind": "shown", "text": text}, {"shown": shown(text)}))
    for _ in range(200):
        text = _random_string(rnd, 12)
        cases.append(({"kind": "shown", "text": text}, {"shown": shown(text)}))
    for n in list(range(0, 300, 7)) + [135, 136, 137, 271, 272, 273, 1000]:
        data = rnd.randbytes(n)
        cases.append(({"kind": "keccak", "hex": "0x" + data.hex()}, {"hex": "0x" + keccak(data).hex()}))
        cases.append(({"kind": "sha256", "hex": "0x" + data.hex()},
                      {"hex": "0x" + __import__("hashlib").sha256(data).hexdigest()}))
    for _ in range(60):
        block, token = rnd.randbytes(32), rnd.choice([0, 1, 7, rnd.getrandbits(64), 2**256 - 1])
        start = rnd.choice([0, rnd.getrandbits(8), 2**40])
        end = start + rnd.choice([1, 2, 5, 100, 10**6, 2**63])
        k = rnd.choice([1, 3, 12, 50])
        seed = sample_seed(block, token)
        cases.append(({"kind": "sample", "block_hash": "0x" + block.hex(), "token_id": str(token),
                       "start": str(start), "end": str(end), "k": k},
                      {"seed": "0x" + seed.hex(), "indices": [str(i) for i in sample_indices(seed, start, end, k)]}))
    return cases


def test_js_gives_python_verdicts(tmp_path):
    cases = _all_cases()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([c for c, _ in cases]))
    proc = subprocess.run([_node(), str(RUNNER), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert len(got) == len(cases)
    kinds: dict[str, int] = {}
    problems = []
    for (case, want), js in zip(cases, got):
        kinds[case["kind"]] = kinds.get(case["kind"], 0) + 1
        if case["kind"] == "proof":
            js = {k: js[k] for k in ("sound", "error", "summary")}
        if case["kind"] in ("factory", "expected factory"):
            js = {"check": js["check"]}
        if case["kind"] == "collateral":
            # The verdicts: every (check name, ok) pair, in order, and the reasons.
            if [c[:2] for c in js["checks"]] != [c[:2] for c in want["checks"]]:
                problems.append(("verdicts", case, want, js))
                continue
        if js != want:
            problems.append(("details", case, want, js))
    print(f"parity cases: {kinds}")
    for kind, case, want, js in problems[:5]:
        print(kind, json.dumps(case)[:600], "\n  python:", json.dumps(want)[:1500], "\n  js:    ", json.dumps(js)[:1500])
    assert not problems, f"{len(problems)} of {len(cases)} cases differ"
    sound = [want for case, want in cases if case["kind"] in ("proof", "collateral") and want["sound"]]
    assert len(sound) >= 10  # the good bundles really are good (not only tampered ones)


FIXTURE = ROOT / "tests" / "js" / "fixtures" / "collateral-v1.json"


def write_fixture() -> None:
    """Write the dpl-collateral/1 fixture the node tests use (``python -m tests.web.test_js_verifier``)."""
    log, root, terms, bundle = _collateral_world(n=60, start=10, end=50, size=55, k=6, seed=4)
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps({
        "bundle": bundle, "anchored_root": _hex(root), "issue_block_hash": _hex(BLOCK_HASH),
        "terms": {"tokenId": terms.token_id, "logId": _hex(terms.log_id), "start": terms.start, "end": terms.end,
                  "checkpointSize": terms.checkpoint_size, "assetDigest": _hex(terms.asset_digest),
                  "samples": terms.samples, "issueBlock": terms.issue_block},
    }, indent=1, ensure_ascii=False) + "\n")


def test_the_node_fixture_is_what_python_builds():
    log, root, terms, bundle = _collateral_world(n=60, start=10, end=50, size=55, k=6, seed=4)
    assert json.loads(FIXTURE.read_text())["bundle"] == bundle


if __name__ == "__main__":
    write_fixture()
