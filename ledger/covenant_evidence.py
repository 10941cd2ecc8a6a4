"""Re-checking a covenant warning's evidence from a disclosure (``docs/COVENANTS.md`` §5): the
lender asks the factory for a ``dpl-disclosure/1`` of the warning's window and recomputes the
figure with the monitor's own rules (``ledger.covenants.judge_weeks``, ``silences``). Pure: maths
only; the chain checks of the disclosure's checkpoint are the caller's
(``ledger.service.evidence``). The browser's ``verify/covenant_evidence.js`` reaches the same
checks with the same names and words.

Checks, in order, up to the first that fails:

- ``warning``: the warning is a covenant warning (DESIGN.md §9's JSON; a ``stoppage`` warning
  also needs its ``key``, which names the machine);
- ``covenant``: the pledge's covenants (checked) list the warning's code, and the pledged profile
  is a ``dpl-profile/1``; an ``anchoring_cadence`` warning stops here, failed: it is judged on
  block time, and no disclosure re-checks it;
- ``disclosure``: the records and range proof rebuild the disclosure's root at its size;
- ``same log``: the disclosure is of the pledged profile's log and stream;
- ``checkpoint``: the disclosure is at the warning's checkpoint (same size and root), or at a
  later one (the chain check then says whether it is anchored: the registry anchors a checkpoint
  only if it extends the previous one, so its records below the warning's size are the same);
- ``window``: the window lies after the pledged range and the disclosure holds all of it;
- ``week closed`` (weekly codes): the disclosure holds a record after the pledged range, below
  the warning's checkpoint size, stamped at or after the week's end (usually record ``to``: the
  monitor judges a week only once such a record is anchored);
- ``figure``: the covenant judged over the window's records gives the warning (window, week,
  value, threshold, message); otherwise the differing fields are named.

The warning stands only if every check passes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ledger import exact, jsonio
from ledger.bundles import Verified, to_hex
from ledger.checks import Check
from ledger.covenants import CODES, WeeklyFigures, check_covenants, describe, judge_weeks, silences, week_basis
from ledger.disclosure import verify_disclosure
from ledger.errors import BundleError, InvalidArgumentError
from ledger.profile import check_profile

__all__ = ["Recheck", "recheck", "recheck_evidence"]


@dataclass
class Recheck:
    checks: list[Check]
    #: The disclosure, once it verified (what the chain checks need).
    verified: Verified | None = None

    @property
    def stands(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_json(self) -> dict:
        return {"stands": self.stands, "checks": [asdict(c) for c in self.checks]}


def recheck(warning: object, disclosure: object, *, covenants: object, pledged_profile: object) -> list[Check]:
    """The checks of ``recheck_evidence`` (see the module docstring)."""
    return recheck_evidence(warning, disclosure, covenants=covenants, pledged_profile=pledged_profile).checks


def _nat(v) -> bool:
    return type(v) is int and 0 <= v <= 2**53 - 1


def _warning(w) -> str | None:
    """Why ``w`` is not a covenant warning, or None."""
    if type(w) is not dict:
        return "must be a JSON object"
    code = w.get("code")
    if type(code) is not str or code not in CODES:
        return f"code {code!r} is not a covenant"
    window = w.get("window")
    if type(window) is not dict or not _nat(window.get("from")) or not _nat(window.get("to")) \
            or window["from"] > window["to"]:
        return "window must be {from, to} with integers 0 <= from <= to"
    cp = w.get("checkpoint")
    root = cp.get("root") if type(cp) is dict else None
    if type(cp) is not dict or not _nat(cp.get("size")) or type(root) is not str or len(root) != 66 \
            or not root.startswith("0x") or any(ch not in "0123456789abcdef" for ch in root[2:]):
        return "checkpoint must be {size, root} with root 0x and 64 lowercase hex digits"
    if window["to"] > cp["size"]:
        return f"window [{window['from']}, {window['to']}) ends beyond the checkpoint size {cp['size']}"
    for name in ("value", "threshold", "message"):
        if type(w.get(name)) is not str:
            return f"{name} must be a string"
    week, key = w.get("week"), w.get("key")
    if key is not None and type(key) is not str:
        return "key must be a string"
    if code in ("stoppage", "anchoring_cadence"):
        if week is not None:
            return f"week must be null for {code}"
    elif type(week) is not str:
        return f"week must be the ISO week (like 2026-W41) for {code}"
    elif key is not None and key != f"{code}/{week}":
        return f"key {key!r} is not {code}/{week}"
    if code == "stoppage":
        if key is None:
            return ("a stoppage warning needs its key (stoppage/MACHINE/START, as dpl monitor warnings --json, "
                    "the API and the webhooks give it): it names the machine")
        head, _, rest = key.partition("/")
        machine, _, start = rest.rpartition("/")
        if head != "stoppage" or not machine or not (start == "range" or re.fullmatch("[0-9]+", start)):
            return f"key {key!r} is not stoppage/MACHINE/START"
    return None


def _shown(fields: dict) -> str:
    """Fields as a line shows them (the browser writes the same): ``name value``, the message in
    double quotes, a null week as ``null``."""
    return "; ".join(f'{name} "{value}"' if name == "message" else f"{name} {'null' if value is None else value}"
                     for name, value in fields.items())


def recheck_evidence(warning: object, disclosure: object, *, covenants: object,
                     pledged_profile: object) -> Recheck:
    """Re-check ``warning`` (a dict: DESIGN.md §9's warning JSON, as the CLI, API or a webhook
    gave it) against ``disclosure`` (parsed JSON, or its bytes) with the pledge's ``covenants``
    and ``pledged_profile`` (the consent's: the baseline, the range's end and the mapping)."""
    problem = _warning(warning)
    if problem:
        return Recheck([Check("warning", False, f"not a covenant warning: {problem}")])
    w = warning
    code, (w_from, w_to) = w["code"], (w["window"]["from"], w["window"]["to"])
    size, root = w["checkpoint"]["size"], w["checkpoint"]["root"]
    week = f" of {w['week']}" if w["week"] else ""
    checks = [Check("warning", True, f"{code} warning{week} on records [{w_from}, {w_to}) judged at checkpoint "
                                     f"size {size}, root {root}")]
    try:
        cov = check_covenants(covenants)
    except InvalidArgumentError as e:
        checks.append(Check("covenant", False, f"the pledge's covenants are not a covenant set: {e}"))
        return Recheck(checks)
    c = next((c for c in cov["covenants"] if c["code"] == code), None)
    if c is None:
        checks.append(Check("covenant", False, f"the pledge's covenants have no {code} covenant"))
        return Recheck(checks)
    try:
        p = check_profile(pledged_profile)
    except BundleError as e:
        checks.append(Check("covenant", False, f"the pledged profile is not a production profile: {e}"))
        return Recheck(checks)
    checks.append(Check("covenant", True, f"{code}: {describe(c)}"))
    if code == "anchoring_cadence":
        checks.append(Check("figure", False, (
            f"anchoring_cadence is judged on block time, not on records: no disclosure re-checks it; on the "
            f"chain, the block that anchored checkpoint size {size} must be more than {c['max_hours']} hours "
            f"({c['max_hours'] * 3600} s) older than a later block with no newer checkpoint of the log")))
        return Recheck(checks)

    if not isinstance(disclosure, (dict, list)) and isinstance(disclosure, (bytes, str)):
        try:
            disclosure = jsonio.loads(disclosure, what="the disclosure")
        except InvalidArgumentError as e:
            checks.append(Check("disclosure", False, str(e)))
            return Recheck(checks)
    try:
        d = verify_disclosure(disclosure)
    except BundleError as e:
        checks.append(Check("disclosure", False, str(e)))
        return Recheck(checks)
    checks.append(Check("disclosure", True, f"{d.end - d.start} record(s) [{d.start}, {d.end}) of {d.stream!r} and "
                                            f"the range proof rebuild root {to_hex(d.root)} at size {d.size}"))
    verified = Verified("dpl-disclosure/1", d.stream, checks[-1].detail, d.log_id, d.size, d.root, d.anchor)

    log_id = to_hex(d.log_id) if d.log_id is not None else None
    if (log_id, d.stream) != (p["log_id"], p["stream"]):
        checks.append(Check("same log", False, f"the disclosure is of {d.stream!r} (log {log_id}), the pledge of "
                                               f"{p['stream']!r} (log {p['log_id']})"))
        return Recheck(checks, verified)
    checks.append(Check("same log", True, f"the disclosure is of the pledged log {p['stream']!r}"))

    if d.size == size and to_hex(d.root) == root:
        checks.append(Check("checkpoint", True, f"the disclosure is at the warning's checkpoint (size {size})"))
    elif d.size > size:
        checks.append(Check("checkpoint", True, (
            f"the disclosure is at a later checkpoint (size {d.size}) than the warning's (size {size}): if both "
            f"are anchored, its records below {size} are the warning's (the registry anchors only checkpoints "
            f"that extend the previous one)")))
    else:
        checks.append(Check("checkpoint", False, (
            f"the disclosure is at size {d.size}, root {to_hex(d.root)}; the warning was judged at size {size}, "
            f"root {root}: another checkpoint")))
        return Recheck(checks, verified)

    start = p["range"]["to"]
    if w_from < start:
        checks.append(Check("window", False, f"the window [{w_from}, {w_to}) begins inside the pledged range "
                                             f"(which ends at {start}): covenants judge the records after it"))
        return Recheck(checks, verified)
    if code == "stoppage" and w["key"].endswith("/range") and w_from != start:
        checks.append(Check("window", False, f"a silence from the end of the pledged range has a window from "
                                             f"{start}, not from {w_from}"))
        return Recheck(checks, verified)
    if w_from == w_to:
        checks.append(Check("window", False, f"the window [{w_from}, {w_to}) is empty: no record to recompute from"))
        return Recheck(checks, verified)
    if not (d.start <= w_from and w_to <= d.end):
        checks.append(Check("window", False, (
            f"the disclosure holds records [{d.start}, {d.end}), the warning's window is [{w_from}, {w_to}): "
            f"the re-check needs every record of the window")))
        return Recheck(checks, verified)
    checks.append(Check("window", True, f"the disclosure holds the whole window [{w_from}, {w_to})"))

    window_records = d.records[w_from - d.start:w_to - d.start]
    try:
        figures = WeeklyFigures.build(window_records, start=w_from, tz=cov["tz"], mapping=p["mapping"])
    except InvalidArgumentError as e:
        checks.append(Check("figure", False, f"the window's records cannot be judged: {e}"))
        return Recheck(checks, verified)
    cp = (size, root)
    claimed = {"window": f"[{w_from}, {w_to})", "week": w["week"], "value": w["value"],
               "threshold": w["threshold"], "message": w["message"]}
    if code == "stoppage":
        machine, _, _ = w["key"].partition("/")[2].rpartition("/")
        found = silences(c, cp, machine, figures.machines.get(machine), start=start, newest=figures.newest_ms,
                         since=exact.instant_ms(p["coverage"]["last_ts"]))
        mine = next((s for s in found if s.key == w["key"]), None)
        n = w_to - w_from
        if mine is None:
            checks.append(Check("figure", False, (
                f"recomputed from {n} disclosed record(s), the warning differs: the warning says {_shown(claimed)}, "
                f"the records give no silence of machine {machine} longer than {c['max_hours']} hours there")))
            return Recheck(checks, verified)
    else:
        wk = next((x for x in figures.weeks if x.name == w["week"]), None)
        if wk is None:
            checks.append(Check("week closed", False, f"the window [{w_from}, {w_to}) holds no record of {w['week']}"))
            return Recheck(checks, verified)
        closing = next((i for i, r in d.records
                        if start <= i < size and exact.instant_ms(r["ts"]) >= wk.end_ms), None)
        if closing is None:
            checks.append(Check("week closed", False, (
                f"the monitor judges {w['week']} once a record stamped at or after its end is anchored: the "
                f"disclosure must hold one below the checkpoint size {size} (usually record {w_to}: disclose "
                f"[{w_from}, {w_to + 1}))")))
            return Recheck(checks, verified)
        checks.append(Check("week closed", True, f"record {closing} is stamped after {w['week']}: the week was closed"))
        basis = week_basis(c, p)
        n = wk.n
        if basis is None:
            checks.append(Check("figure", False, (
                f"the pledged range made no MES good output: {code} is not judged, the warning cannot stand")))
            return Recheck(checks, verified)
        raised, met = [], []
        judge_weeks(c, basis, cp, [wk], raised, met, with_value=True)
        mine = raised[0] if raised else None
        if mine is None:
            gives = ("no figure (no such records that week): not judged" if not met else
                     f"value {met[0].value}: the covenant is met")
            checks.append(Check("figure", False, (
                f"recomputed from {n} disclosed record(s) of {w['week']}, the warning differs: the warning says "
                f"{_shown(claimed)}, the records give {gives}")))
            return Recheck(checks, verified)
    given = {"window": f"[{mine.window[0]}, {mine.window[1]})", "week": mine.week, "value": mine.value,
             "threshold": mine.threshold, "message": mine.message}
    differ = [k for k in claimed if claimed[k] != given[k]]
    if differ:
        checks.append(Check("figure", False, (
            f"recomputed from {n} disclosed record(s), the warning differs: the warning says "
            f"{_shown({k: claimed[k] for k in differ})}, the records give {_shown({k: given[k] for k in differ})}")))
    else:
        checks.append(Check("figure", True, (
            f"recomputed from {n} disclosed record(s): value {mine.value}, threshold {mine.threshold} "
            f"— the warning stands")))
    return Recheck(checks, verified)
