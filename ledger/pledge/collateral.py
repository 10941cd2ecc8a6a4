"""Collateral bundles: what a factory hands a lender to show a pledged data asset is real.

``dpl-collateral/1`` (hashes and salts 0x-prefixed lowercase hex)::

    {"format": "dpl-collateral/1", "token_id": 7, "chain_id": 31337,
     "registry": "0x…(EIP-55 checksum)",
     "issue": {"block_number": 1234, "block_hash": "0x…"},
     "seed": "0x…", "manifest": {…dpl-asset/1…},
     "entries": [{"index": …, "record": {…}, "salt": "0x…", "leaf_hash": "0x…",
                  "proof": ["0x…"]}]}

``entries`` are the records at the indices ``ledger.sampling`` derives from the issue
block's hash and the token id, ascending, each with its inclusion proof at the manifest's
checkpoint size. Verification is pure: the caller reads the pledge's terms (``Terms``, the
ledger's one terms type), its issue block, the root anchored at the checkpoint size and the
issue block's hash from the chain and passes them in; nothing in the bundle is trusted where
the chain has the answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from ledger import merkle
from ledger.assets import asset_digest, check_manifest, record_disagreements
from ledger.errors import BundleError, InvalidArgumentError, ProofError, RecordError
from ledger.pledge.terms import Terms
from ledger.records import prepare_record
from ledger.sampling import sample_indices, sample_seed

COLLATERAL_FORMAT = "dpl-collateral/1"
_HEX32 = re.compile(r"0x[0-9a-f]{64}")


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def make_collateral_bundle(
    *, token_id: int, chain_id: int, registry: str, issue_block_number: int,
    issue_block_hash: bytes, manifest: dict, entries: list[dict],
) -> dict:
    """A ``dpl-collateral/1`` bundle; ``entries`` as ``ledger.bundles.make_entry`` makes them."""
    return {
        "format": COLLATERAL_FORMAT,
        "token_id": token_id,
        "chain_id": chain_id,
        "registry": to_checksum_address(registry),
        "issue": {"block_number": issue_block_number, "block_hash": _hex(issue_block_hash)},
        "seed": _hex(sample_seed(issue_block_hash, token_id)),
        "manifest": manifest,
        "entries": entries,
    }


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class CollateralReport:
    token_id: int
    checks: list[Check]

    @property
    def sound(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def as_json(self) -> dict:
        return {"token_id": self.token_id, "sound": self.sound,
                "checks": [asdict(c) for c in self.checks]}


@dataclass(frozen=True)
class _Entry:
    index: int
    record: object
    salt: bytes
    leaf: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class _Bundle:
    token_id: int
    block_number: int
    block_hash: bytes
    seed: bytes
    manifest: dict
    entries: list[_Entry]


def _obj(value: object, where: str) -> dict:
    if type(value) is not dict:
        raise BundleError(f"{where} must be a JSON object")
    return value


def _uint(value: object, where: str) -> int:
    if type(value) is not int or value < 0:
        raise BundleError(f"{where} must be a non-negative integer")
    return value


def _hash(value: object, where: str) -> bytes:
    if type(value) is not str or not _HEX32.fullmatch(value):
        raise BundleError(f"{where} must be 0x followed by 64 lowercase hex digits")
    return bytes.fromhex(value[2:])


def is_valid_address(s: object) -> bool:
    """A 0x address whose mixed case, if any, is a valid EIP-55 checksum (a wrong one is a typo,
    refused like web3 does; ``eth_utils.is_address`` accepts it)."""
    if type(s) is not str:
        return False
    digits = s[2:]
    return is_hex_address(s) and (digits in (digits.lower(), digits.upper()) or is_checksum_address(s))


def _parse(bundle: object) -> _Bundle:
    """The bundle's structure, typed; ``BundleError`` naming the first wrong field."""
    b = _obj(bundle, "the bundle")
    if b.get("format") != COLLATERAL_FORMAT:
        raise BundleError(f"format is {b.get('format')!r}, expected {COLLATERAL_FORMAT!r}")
    token_id = _uint(b.get("token_id"), "token_id")
    _uint(b.get("chain_id"), "chain_id")
    registry = b.get("registry")
    if not is_valid_address(registry):
        raise BundleError("registry must be a 0x-prefixed 20-byte address (EIP-55 if mixed case)")
    issue = _obj(b.get("issue"), "issue")
    block_number = _uint(issue.get("block_number"), "issue.block_number")
    block_hash = _hash(issue.get("block_hash"), "issue.block_hash")
    seed = _hash(b.get("seed"), "seed")
    try:
        manifest = check_manifest(b.get("manifest"))
    except BundleError as e:
        raise BundleError(f"manifest: {e}") from None
    raw_entries = b.get("entries")
    if type(raw_entries) is not list or not raw_entries:
        raise BundleError("entries must be a non-empty list")
    entries = []
    for n, raw in enumerate(raw_entries):
        e = _obj(raw, f"entries[{n}]")
        index = _uint(e.get("index"), f"entries[{n}].index")
        where = f"entries[{n}] (index {index})"
        if "record" not in e:
            raise BundleError(f"{where}.record is missing")
        proof = e.get("proof")
        if type(proof) is not list:
            raise BundleError(f"{where}.proof must be a list")
        entries.append(_Entry(
            index, e["record"], _hash(e.get("salt"), f"{where}.salt"),
            _hash(e.get("leaf_hash"), f"{where}.leaf_hash"),
            [_hash(h, f"{where}.proof[{i}]") for i, h in enumerate(proof)],
        ))
    return _Bundle(token_id, block_number, block_hash, seed, manifest, entries)


def verify_collateral(
    bundle: object, *, token_id: int, terms: Terms, issue_block: int, anchored_root: bytes | None,
    issue_block_hash: bytes | None,
) -> CollateralReport:
    """Check a collateral bundle against the on-chain facts of pledge ``token_id``.

    ``terms`` are its terms and ``issue_block`` the block it was issued in, as the registry
    holds them; ``anchored_root`` is the root the registry holds for the log at
    ``terms.checkpoint_size`` (None if none); ``issue_block_hash`` the chain's hash of
    block ``issue_block`` (None if the chain has none). Never raises on a bad
    bundle: each problem is a failed ``Check`` with its reason, in the order
    format, manifest digest, manifest terms, anchored root, seed, sample indices, then
    per entry: leaf hash, inclusion, agrees with manifest. A malformed bundle gives one
    failed "format" check.
    """
    try:
        b = _parse(bundle)
    except BundleError as e:
        return CollateralReport(token_id, [Check("format", False, str(e))])
    m = b.manifest
    checks = [Check("format", True, f"{COLLATERAL_FORMAT}, {len(b.entries)} entries")]
    checks.append(_check_digest(m, terms))
    checks.append(_check_terms(m, terms))
    checks.append(_check_root(m, terms, anchored_root))
    checks.append(_check_seed(b, token_id, issue_block, issue_block_hash))
    checks.append(_check_indices(b, token_id, terms, issue_block_hash))
    # Proofs go to the chain's root; with none anchored, to the manifest's (so the entries
    # are still judged, while "anchored root" says why the bundle is not sound).
    root = anchored_root if anchored_root is not None else bytes.fromhex(m["checkpoint"]["root"][2:])
    against = "the anchored root" if anchored_root is not None else "the manifest's root (none anchored)"
    for n, e in enumerate(b.entries):
        checks.extend(_check_entry(n, e, m, terms.checkpoint_size, root, against))
    return CollateralReport(token_id, checks)


def _check_digest(m: dict, terms: Terms) -> Check:
    digest = asset_digest(m)
    if digest == terms.asset_digest:
        return Check("manifest digest", True, f"sha256 {_hex(digest)} is the pledge's asset digest")
    return Check("manifest digest", False,
                 f"the manifest hashes to {_hex(digest)}, the pledge commits to "
                 f"{_hex(terms.asset_digest)}: the manifest was edited or is another asset's")


def _check_terms(m: dict, terms: Terms) -> Check:
    problems = []
    if m["log_id"] != _hex(terms.log_id):
        problems.append(f"log_id {m['log_id']} is not the pledge's {_hex(terms.log_id)}")
    rng = (m["range"]["from"], m["range"]["to"])
    if rng != (terms.start, terms.end):
        problems.append(f"range [{rng[0]}, {rng[1]}) is not the pledge's [{terms.start}, {terms.end})")
    if m["checkpoint"]["size"] != terms.checkpoint_size:
        problems.append(f"checkpoint size {m['checkpoint']['size']} is not the pledge's "
                        f"{terms.checkpoint_size}")
    if problems:
        return Check("manifest terms", False, "; ".join(problems))
    return Check("manifest terms", True,
                 f"log, range [{terms.start}, {terms.end}) and checkpoint size "
                 f"{terms.checkpoint_size} are the pledge's")


def _check_root(m: dict, terms: Terms, anchored_root: bytes | None) -> Check:
    claimed = m["checkpoint"]["root"]
    if anchored_root is None:
        return Check("anchored root", False,
                     f"no root is anchored for this log at size {terms.checkpoint_size}")
    if _hex(anchored_root) != claimed:
        return Check("anchored root", False,
                     f"the manifest's root {claimed} is not the anchored root {_hex(anchored_root)}")
    return Check("anchored root", True, f"{claimed} is anchored at size {terms.checkpoint_size}")


def _check_seed(b: _Bundle, token_id: int, issue_block: int, chain_hash: bytes | None) -> Check:
    problems = []
    if b.token_id != token_id:
        problems.append(f"the bundle is for token {b.token_id}, the pledge is token {token_id}")
    if b.block_number != issue_block:
        problems.append(f"issue block {b.block_number} is not the pledge's {issue_block}")
    if chain_hash is None:
        problems.append(f"the chain gave no hash for block {issue_block}")
    else:
        if b.block_hash != chain_hash:
            problems.append(f"issue block hash {_hex(b.block_hash)} is not the chain's "
                            f"{_hex(chain_hash)}")
        expected = sample_seed(chain_hash, token_id)
        if b.seed != expected:
            problems.append(f"seed {_hex(b.seed)} is not keccak256(block hash, token id) = "
                            f"{_hex(expected)}")
    if problems:
        return Check("seed", False, "; ".join(problems))
    return Check("seed", True, f"{_hex(b.seed)} from block {issue_block} and token {token_id}")


def _check_indices(b: _Bundle, token_id: int, terms: Terms, chain_hash: bytes | None) -> Check:
    if chain_hash is None:
        return Check("sample indices", False, "cannot derive them: the chain gave no issue block hash")
    try:
        # From the chain's facts, never the bundle's seed: the factory must not pick them.
        expected = sample_indices(sample_seed(chain_hash, token_id),
                                  terms.start, terms.end, terms.samples)
    except InvalidArgumentError as e:
        return Check("sample indices", False, f"cannot derive them from the terms: {e}")
    got = [e.index for e in b.entries]
    if got == expected:
        return Check("sample indices", True, f"the {len(got)} entries are exactly the sampled indices")
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing sampled indices {_few(missing)}")
    if extra:
        problems.append(f"indices {_few(extra)} were not sampled")
    if not problems:
        problems.append("entries are duplicated or out of order (they must be ascending)")
    return Check("sample indices", False, "; ".join(problems))


def _few(xs: list[int]) -> str:
    return ", ".join(map(str, xs[:5])) + (f" … ({len(xs)} in all)" if len(xs) > 5 else "")


def _check_entry(n: int, e: _Entry, m: dict, size: int, root: bytes, against: str) -> list[Check]:
    name = f"entry {e.index}"
    try:
        canonical = prepare_record(e.record, n).canonical
    except RecordError as err:
        leaf = Check(f"{name}: leaf hash", False, f"not a valid record: {err.reason}")
    else:
        if merkle.leaf_hash(e.salt + canonical) == e.leaf:
            leaf = Check(f"{name}: leaf hash", True, "record and salt hash to leaf_hash")
        else:
            leaf = Check(f"{name}: leaf hash", False,
                         "record and salt do not hash to leaf_hash (record or salt was altered)")
    try:
        merkle.verify_inclusion(e.leaf, e.index, size, e.proof, root)
        inclusion = Check(f"{name}: inclusion", True, f"leaf is at index {e.index} of size {size} under {against}")
    except ProofError as err:
        inclusion = Check(f"{name}: inclusion", False,
                          f"proof does not lead to {against} at size {size}: {err}")
    reasons = record_disagreements(m, e.record)
    agrees = Check(f"{name}: agrees with manifest", not reasons,
                   "; ".join(reasons) if reasons else "type, time and figures within the manifest")
    return [leaf, inclusion, agrees]
