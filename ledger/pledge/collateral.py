"""Collateral bundles: what a factory hands a lender to show a pledged data asset is real.

``dpl-collateral/1`` (hashes and salts 0x-prefixed lowercase hex)::

    {"format": "dpl-collateral/1", "token_id": 7, "chain_id": 31337,
     "registry": "0x…(EIP-55 checksum)",
     "issue": {"block_number": 1234, "block_hash": "0x…"},
     "seed": "0x…", "manifest": {…dpl-asset/1…},
     "entries": [{"index": …, "record": {…}, "salt": "0x…", "leaf_hash": "0x…",
                  "proof": ["0x…"]}],
     "covenants": {…dpl-covenants/1…}}

``covenants`` (present when the pledge's terms carry a non-zero ``covenantsDigest``) is the set
agreed with the loan: the "covenants" check holds it to the on-chain digest (SHA-256 of its
RFC 8785 bytes), so a lender is never given a set other than the one the factory signed.

``entries`` are the records at the indices ``ledger.sampling`` derives from the issue
block's hash and the token id, ascending, each with its inclusion proof at the manifest's
checkpoint size. A ``dpl-asset/2`` manifest carries the range's production profile
(``docs/PROFILE.md``): each sampled record is then also checked against its day's figures, and
the report has one line per headline figure ("declared by the factory; k sampled records agree
with it") and what the sample can and cannot detect (``sampling_statement``); with a full
disclosure of the range (``figures_from_disclosure``) the figures are recomputed instead.
Verification is pure: the caller reads the pledge's terms (``Terms``, the
ledger's one terms type), its issue block, the root anchored at the checkpoint size and the
issue block's hash from the chain and passes them in; nothing in the bundle is trusted where
the chain has the answer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from fractions import Fraction

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from ledger import merkle
from ledger.assets import ASSET_FORMAT_V2, asset_digest, check_manifest, record_disagreements
from ledger.canonical import CanonicalError, canonicalize
from ledger.checks import Check
from ledger.errors import BundleError, InvalidArgumentError, ProofError, RecordError
from ledger.leaves import RECORD_V1, bundle_field, bundle_record_format, leaf_hash_of
from ledger.pledge.terms import Terms, check_covenants_digest
from ledger.records import prepare_record
from ledger.sampling import sample_indices, sample_seed

COLLATERAL_FORMAT = "dpl-collateral/1"
_HEX32 = re.compile(r"0x[0-9a-f]{64}")


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def make_collateral_bundle(
    *, token_id: int, chain_id: int, registry: str, issue_block_number: int,
    issue_block_hash: bytes, manifest: dict, entries: list[dict], covenants: dict | None = None,
    record_format: str = RECORD_V1,
) -> dict:
    """A ``dpl-collateral/1`` bundle; ``entries`` as ``ledger.bundles.make_entry`` makes them;
    ``covenants``: the pledge's ``dpl-covenants/1`` set, if its terms commit to one; a pledged
    ``dpl-record/2`` log's bundle says so (``record_format``, as ``dpl-proof/1`` does)."""
    bundle = {
        "format": COLLATERAL_FORMAT,
        **bundle_field(record_format),
        "token_id": token_id,
        "chain_id": chain_id,
        "registry": to_checksum_address(registry),
        "issue": {"block_number": issue_block_number, "block_hash": _hex(issue_block_hash)},
        "seed": _hex(sample_seed(issue_block_hash, token_id)),
        "manifest": manifest,
        "entries": entries,
    }
    if covenants is not None:
        bundle["covenants"] = covenants
    return bundle


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
    #: SHA-256 of the RFC 8785 bytes of the bundle's ``covenants``; None: the bundle has none
    covenants_digest: bytes | None = None
    record_format: str = RECORD_V1


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
    record_format = bundle_record_format(b)
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
    covenants = b.get("covenants")
    digest = None
    if covenants is not None:
        if type(covenants) is not dict:
            raise BundleError("covenants must be a JSON object (a dpl-covenants/1 set)")
        try:
            digest = hashlib.sha256(canonicalize(covenants)).digest()
        except CanonicalError:
            raise BundleError("covenants are not canonical JSON (RFC 8785)") from None
    return _Bundle(token_id, block_number, block_hash, seed, manifest, entries, digest, record_format)


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
    format, manifest digest, manifest terms, covenants, anchored root, seed, sample indices, then
    per entry: leaf hash, inclusion, agrees with manifest (and, for a ``dpl-asset/2``
    manifest, agrees with its day's figures), then for ``dpl-asset/2`` one ``figure …`` line
    per headline figure and ``sampling``. A malformed bundle gives one failed "format" check.
    """
    try:
        b = _parse(bundle)
    except BundleError as e:
        return CollateralReport(token_id, [Check("format", False, str(e))])
    m = b.manifest
    checks = [Check("format", True, f"{COLLATERAL_FORMAT}, {len(b.entries)} entries")]
    checks.append(_check_digest(m, terms))
    checks.append(_check_terms(m, terms))
    checks.append(check_covenants_digest(b.covenants_digest, terms.covenants_digest, "the bundle"))
    checks.append(_check_root(m, terms, anchored_root))
    checks.append(_check_seed(b, token_id, issue_block, issue_block_hash))
    checks.append(_check_indices(b, token_id, terms, issue_block_hash))
    # Proofs go to the chain's root; with none anchored, to the manifest's (so the entries
    # are still judged, while "anchored root" says why the bundle is not sound).
    root = anchored_root if anchored_root is not None else bytes.fromhex(m["checkpoint"]["root"][2:])
    against = "the anchored root" if anchored_root is not None else "the manifest's root (none anchored)"
    profile = m.get("profile") if m["format"] == ASSET_FORMAT_V2 else None
    for n, e in enumerate(b.entries):
        checks.extend(_check_entry(n, e, m, terms.checkpoint_size, root, against, profile, b.record_format))
    if profile is not None:
        agreeing = sum(c.ok for c in checks if c.name.endswith(DAY_CHECK))
        checks.extend(_declared_figures(profile, agreeing, len(b.entries)))
        checks.append(Check("sampling", True, sampling_statement(len(b.entries))))
    return CollateralReport(token_id, checks)


# --- the figures of a dpl-asset/2 manifest -------------------------------------------------

DAY_CHECK = ": agrees with its day's figures"
#: The share of records that disagree, which the sampling statement speaks of (5 %).
DISAGREEING_SHARE = Fraction(5, 100)


def headline_figures(profile: dict) -> list[tuple[str, object]]:
    """The figures a collateral report lists, ``(path, value)`` in this order (paths as
    ``ledger.profile.compare_profiles`` names them): coverage.records, coverage.days;
    mes.qty_good, qty_scrap, scrap_rate, plan_attainment; per machine (code point order)
    iot.machines.M.parts and .utilization; per currency sales.by_currency.C.amount_minor and
    .top1_share; cross_source.mismatch; those of a null section are left out."""
    out: list[tuple[str, object]] = []

    def add(path: str, obj: object, key: str) -> None:
        if type(obj) is dict and key in obj:
            out.append((f"{path}.{key}", obj[key]))

    cov = profile.get("coverage")
    add("coverage", cov, "records")
    add("coverage", cov, "days")
    mes = profile.get("mes")
    for key in ("qty_good", "qty_scrap", "scrap_rate", "plan_attainment"):
        add("mes", mes, key)
    iot = profile.get("iot")
    machines = iot.get("machines") if type(iot) is dict else None
    if type(machines) is dict:
        for name in sorted(machines):
            add(f"iot.machines.{name}", machines[name], "parts")
            add(f"iot.machines.{name}", machines[name], "utilization")
    sales = profile.get("sales")
    currencies = sales.get("by_currency") if type(sales) is dict else None
    if type(currencies) is dict:
        for name in sorted(currencies):
            add(f"sales.by_currency.{name}", currencies[name], "amount_minor")
            add(f"sales.by_currency.{name}", currencies[name], "top1_share")
    add("cross_source", profile.get("cross_source"), "mismatch")
    return out


def figure_text(value: object) -> str:
    """A figure as a report line writes it: digits, a decimal string as is, null as "none"."""
    if value is None:
        return "none"
    if type(value) is str:
        return value
    return canonicalize(value).decode()


def _declared_figures(profile: dict, agreeing: int, k: int) -> list[Check]:
    if agreeing == k:
        said = f"{k} sampled record{'s' if k != 1 else ''} agree{'s' if k == 1 else ''} with it"
    else:
        said = f"only {agreeing} of {k} sampled records agree with their day's figures"
    return [Check(f"figure {path}", agreeing == k, f"{figure_text(value)}: declared by the factory; {said}")
            for path, value in headline_figures(profile)]


def miss_probability(k: int, share: Fraction = DISAGREEING_SHARE) -> Fraction:
    """An upper bound on the chance that ``k`` samples (distinct records, drawn uniformly)
    all miss the records that disagree, when at least ``share`` of the records do:
    ``(1 - share) ** k`` exactly (drawing without replacement misses them less often)."""
    return (1 - share) ** k


def ceil_percent(p: Fraction) -> str:
    """``100 * p`` rounded up to two significant digits, as a decimal string (``"36"``,
    ``"0.60"``, ``"0.0000021"``); ``p`` in (0, 1]."""
    x = p * 100
    e = 0  # scale by 10**e until 10 <= x * 10**e < 100
    while x * Fraction(10) ** e < 10:
        e += 1
    while x * Fraction(10) ** e >= 100:
        e -= 1
    scaled = x * Fraction(10) ** e
    m = -((-scaled.numerator) // scaled.denominator)  # ceil
    if m == 100:
        m, e = 10, e - 1
    if e <= 0:
        return str(m * 10 ** -e)
    digits = str(m).rjust(e + 1, "0")
    return f"{digits[:-e]}.{digits[-e:]}"


def sampling_statement(k: int) -> str:
    """What ``k`` sampled records can and cannot tell about the declared figures."""
    percent = ceil_percent(miss_probability(k))
    samples = f"{k} sample{'s' if k != 1 else ''}"
    return (f"if at least 5 % of the range's records disagreed with their day's figures, {samples} "
            f"would miss every one of them with probability at most {percent} % (0.95^{k}, rounded up to two "
            "significant digits); sampling cannot detect records left out of the log, nor totals inflated "
            "without any single record exceeding its day's figures: only a full disclosure recomputes them")


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


def _check_entry(n: int, e: _Entry, m: dict, size: int, root: bytes, against: str,
                 profile: dict | None = None, record_format: str = RECORD_V1) -> list[Check]:
    name = f"entry {e.index}"
    canonical = None
    try:
        canonical = prepare_record(e.record, n).canonical
    except RecordError as err:
        leaf = Check(f"{name}: leaf hash", False, f"not a valid record: {err.reason}")
    else:
        if leaf_hash_of(record_format, e.salt, canonical) == e.leaf:
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
    if profile is None:
        return [leaf, inclusion, agrees]
    if canonical is None:
        day = Check(name + DAY_CHECK, False, "not a valid record (see its leaf hash)")
    else:
        from ledger.jsonio import loads
        from ledger.profile import record_disagreements as day_disagreements

        # read back from its canonical bytes, as a profile reads every record (5.0 is 5)
        reasons = day_disagreements(profile, e.index, loads(canonical))
        day = Check(name + DAY_CHECK, not reasons,
                    "; ".join(reasons) if reasons else "within its day's figures and its product's, machine's and "
                                                       "customer's totals")
    return [leaf, inclusion, agrees, day]


# --- with a full disclosure of the pledged range -------------------------------------------


def figures_from_disclosure(report: CollateralReport, bundle: object, disclosure: object,
                            terms: Terms) -> CollateralReport:
    """``report`` (of ``bundle`` for a pledge with ``terms``) with the figures recomputed from
    ``disclosure``, a ``dpl-disclosure/1`` of the pledged range: the checks of
    ``ledger.profile_verify.verify_profile`` (named ``disclosure: …``) on the manifest's
    profile, ``disclosure range`` (the disclosure's log, range and checkpoint are the
    pledge's), then each ``figure …`` line "recomputed from N disclosed records" (failed when
    it differs from the records), in place of the declared lines and ``sampling``."""
    from ledger.profile_verify import verify_profile

    checks = [c for c in report.checks if not c.name.startswith("figure ") and c.name != "sampling"]
    if not report.checks or not report.checks[0].ok:
        return CollateralReport(report.token_id, checks)  # the format check already says why
    m = bundle["manifest"]
    if m["format"] != ASSET_FORMAT_V2:
        checks.append(Check("disclosure", False, f"the pledge's manifest is {m['format']}: it declares no "
                                                 "profile for a disclosure to recompute"))
        return CollateralReport(report.token_id, checks)
    verdict = verify_profile(m["profile"], disclosure)
    checks.extend(Check(f"disclosure: {c.name}", c.ok, c.detail) for c in verdict.checks)
    v = verdict.verified
    if v is None:
        return CollateralReport(report.token_id, checks)
    d = disclosure  # verified: a dpl-disclosure/1 object
    problems = []
    if v.log_id != terms.log_id:
        named = _hex(v.log_id) if v.log_id is not None else "null"
        problems.append(f"log_id {named} is not the pledge's {_hex(terms.log_id)}")
    if (d["range"]["from"], d["range"]["to"]) != (terms.start, terms.end):
        problems.append(f"range [{d['range']['from']}, {d['range']['to']}) is not the pledge's "
                        f"[{terms.start}, {terms.end})")
    if v.size != terms.checkpoint_size:
        problems.append(f"checkpoint size {v.size} is not the pledge's {terms.checkpoint_size}")
    if problems:
        checks.append(Check("disclosure range", False, "; ".join(problems)))
        return CollateralReport(report.token_id, checks)
    n = terms.end - terms.start
    checks.append(Check("disclosure range", True, f"the disclosure holds the pledged records [{terms.start}, "
                                                  f"{terms.end}) at checkpoint size {terms.checkpoint_size}"))
    if not all(c.ok for c in verdict.checks) and not verdict.differences:
        return CollateralReport(report.token_id, checks)
    differing = [p for p, _, _ in verdict.differences]
    for path, value in headline_figures(m["profile"]):
        wrong = [p for p in differing if p == path or path.startswith(p + ".") or p.startswith(path + ".")]
        checks.append(Check(f"figure {path}", not wrong,
                            f"{figure_text(value)}: recomputed from {n} disclosed records"
                            + (": it differs from the records" if wrong else "")))
    return CollateralReport(report.token_id, checks)
