"""ledger.bundles: a bundle verifies offline; any tampering is refused with its reason."""

import copy
import os

import pytest

from ledger import bundles, merkle
from ledger.errors import BundleError
from ledger.records import prepare_record


def _bundle(n=13, at=(5,)):
    recs = [{"id": f"r{i}", "ts": "2026-10-01T08:00:00+08:00", "type": "mes.work_order",
             "data": {"qty_good": 100 + i}} for i in range(n)]
    salts = [os.urandom(32) for _ in recs]
    leaves = [merkle.leaf_hash(s + prepare_record(r, 0).canonical) for s, r in zip(salts, recs)]
    entries = [bundles.make_entry(i, recs[i], salts[i], leaves[i], merkle.inclusion_proof(leaves, i)) for i in at]
    return bundles.make_proof_bundle("line-a/mes", None, n, merkle.root(leaves), entries), leaves


def test_a_sound_bundle_verifies():
    b, _ = _bundle(at=(0, 5, 12))
    result = bundles.verify(b)
    assert result.format == "dpl-proof/1" and "3 record(s)" in result.summary


@pytest.mark.parametrize("tamper, reason", [
    (lambda b: b["entries"][0]["record"]["data"].update(qty_good=1), "record and salt"),
    (lambda b: b["entries"][0].update(salt="0x" + "00" * 32), "record and salt"),
    (lambda b: b["entries"][0].update(index=6), "inclusion proof"),
    (lambda b: b["entries"][0]["proof"].reverse(), "inclusion proof"),
    (lambda b: b["entries"][0]["proof"].pop(), "inclusion proof"),
    (lambda b: b["checkpoint"].update(root="0x" + "ab" * 32), "inclusion proof"),
    (lambda b: b["checkpoint"].update(size=6), "inclusion proof"),  # index 5 needs another proof shape
    (lambda b: b["checkpoint"].update(root="0xABC"), "64 lowercase hex"),
    (lambda b: b.update(format="dpl-proof/9"), "unknown bundle format"),
    (lambda b: b.update(entries=[]), "non-empty"),
    (lambda b: b["entries"][0]["record"].pop("ts"), "not a valid record"),
    (lambda b: b["entries"].append(copy.deepcopy(b["entries"][0])),
     r"entries\[1\] \(index 5\) repeats the index of entries\[0\]: each index is proven once"),
    (lambda b: b.update(anchor={"chain_id": 1, "registry": "0x" + "12" * 20, "tx_hash": "0xab"}),
     "anchor.tx_hash must be 0x followed by 64 lowercase hex digits"),
    (lambda b: b.update(anchor={"chain_id": 1, "registry": "0x" + "12" * 20, "block_number": -1}),
     "anchor.block_number must be a non-negative integer"),
])
def test_tampering_is_refused_with_a_reason(tamper, reason):
    b, _ = _bundle()
    bad = copy.deepcopy(b)
    tamper(bad)
    with pytest.raises(BundleError, match=reason):
        bundles.verify(bad)


def test_recomputed_leaf_hash_still_fails_the_proof():
    b, _ = _bundle()
    e = b["entries"][0]
    e["record"]["data"]["qty_good"] = 1
    e["leaf_hash"] = bundles.to_hex(merkle.leaf_hash(bytes.fromhex(e["salt"][2:]) + prepare_record(e["record"], 0).canonical))
    with pytest.raises(BundleError, match="inclusion proof"):
        bundles.verify(b)


def test_consistency_bundle():
    _, leaves = _bundle(n=40)
    doc = bundles.make_consistency_bundle("s", None, 17, merkle.root(leaves[:17]), 40,
                                          merkle.root(leaves), merkle.consistency_proof(leaves, 17))
    assert bundles.verify(doc).format == "dpl-consistency/1"
    doc["old"]["size"] = 18
    with pytest.raises(BundleError, match="consistency"):
        bundles.verify(doc)
