"""The transparency-dev/merkle vectors (tests/vectors/) and Python's verdict on each."""

import base64
from pathlib import Path

from ledger import merkle
from ledger.errors import ProofError

VECTORS = Path(__file__).resolve().parent / "vectors" / "transparency-dev-merkle" / "testdata"
VECTOR_FILES = sorted(VECTORS.rglob("*.json"))


def b64(s: str) -> bytes:
    return base64.b64decode(s)


def python_accepts(case: dict) -> bool:
    """Does ledger.merkle accept this vector's proof?"""
    proof = [b64(h) for h in case["proof"] or []]
    try:
        if "leafIdx" in case:
            merkle.verify_inclusion(b64(case["leafHash"]), case["leafIdx"], case["treeSize"],
                                    proof, b64(case["root"]))
        else:
            merkle.verify_consistency(case["size1"], case["size2"], proof,
                                      b64(case["root1"]), b64(case["root2"]))
    except ProofError:
        return False
    return True
