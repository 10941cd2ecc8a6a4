"""What a lender concludes from a production profile and a full disclosure of its range (pure:
maths only; the chain checks are ``ledger.chain.check.proof_checks``, run by the caller against
the registry it trusts). The browser's ``verify/profile_verify.js`` reaches the same verdicts
with the same names.

Checks, in order, up to the first that fails:

- ``profile``: the profile is a ``dpl-profile/1`` document (structure); its line names the
  mapping and the thresholds the factory chose (``chosen_parameters``): SOUND is relative to them;
- ``disclosure``: every record of ``[from, to)`` with its salt, in index order, and the range
  proof rebuild the disclosure's root at its size (``ledger.disclosure.verify_disclosure``);
- ``same range``: the profile names the disclosure's log, stream, range and checkpoint;
- ``figures``: the profile recomputed from the disclosed records (with the profile's own
  ``tz``, ``mapping`` and ``thresholds``) is identical, figure by figure; otherwise every
  differing figure is named with the value claimed and the value recomputed.

SOUND only if every check passes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ledger.bundles import Verified, to_hex
from ledger.errors import BundleError, InvalidArgumentError
from ledger.checks import Check

#: How many differing figures the ``figures`` check names in its line (all are in ``differences``).
SHOWN_DIFFERENCES = 20


@dataclass
class ProfileVerdict:
    checks: list[Check]
    #: (figure path, claimed, recomputed) for every figure that differs.
    differences: list[tuple[str, object, object]] = field(default_factory=list)
    #: The disclosure, once it verified (what the chain checks need).
    verified: Verified | None = None

    @property
    def sound(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_json(self) -> dict:
        return {"sound": self.sound, "checks": [asdict(c) for c in self.checks],
                "differences": [{"figure": p, "claimed": _shown(c), "recomputed": _shown(r)}
                                for p, c, r in self.differences]}


def _shown(value: object) -> object:
    from ledger.profile import MISSING

    return "(absent)" if value is MISSING else value


def _leaves(value: object) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values()) or 1
    if isinstance(value, list):
        return sum(_leaves(v) for v in value) or 1
    return 1


def figure_text(value: object) -> str:
    """A figure as a report line shows it: its JSON text (object keys in code point order, as the
    browser writes them: JS would put integer-like keys such as a customer "10" first), cut at 80
    characters."""
    from ledger.profile import MISSING

    if value is MISSING:
        return "(absent)"
    import orjson

    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def chosen_parameters(p: dict) -> str:
    """What the factory chose besides the records, that the figures and flags rest on: its
    mapping and the thresholds that are not the defaults, in words ("" when neither). A verdict
    recomputes with them, so SOUND says nothing about them: the lender must see them (a mapping
    can read qty_good from the qty_planned field; raised thresholds silence every flag)."""
    from ledger.profile import DEFAULT_THRESHOLDS

    parts = []
    if p["mapping"] is not None:
        entries = []
        for name, entry in sorted(p["mapping"]["types"].items()):
            items = [f"type {entry['type']!r}"] if "type" in entry else []
            items += [f"{field} <- {key!r}" for field, key in sorted(entry.get("fields", {}).items())]
            entries.append(f"{name} ({', '.join(items)})" if items else name)
        parts.append("read with the factory's mapping: " + "; ".join(entries))
    changed = [f"{key} {p['thresholds'][key]} (default {default})" for key, default in DEFAULT_THRESHOLDS.items()
               if p["thresholds"][key] != default]
    if changed:
        parts.append("flags at thresholds the factory chose: " + ", ".join(changed))
    return "".join(f"; {part}" for part in parts)


def verify_profile(profile: object, disclosure: object) -> ProfileVerdict:
    """Check ``profile`` against ``disclosure`` (both parsed JSON; see the module docstring)."""
    from ledger.disclosure import verify_disclosure
    from ledger.profile import build_profile, check_profile, compare_profiles

    try:
        p = check_profile(profile)
    except BundleError as e:
        return ProfileVerdict([Check("profile", False, f"not a production profile: {e}")])
    checks = [Check("profile", True, f"dpl-profile/1 of {p['stream']!r} records [{p['range']['from']}, "
                                     f"{p['range']['to']}) at size {p['checkpoint']['size']}{chosen_parameters(p)}")]
    try:
        d = verify_disclosure(disclosure)
    except BundleError as e:
        checks.append(Check("disclosure", False, str(e)))
        return ProfileVerdict(checks)
    n = d.end - d.start
    checks.append(Check("disclosure", True, f"{n} record(s) [{d.start}, {d.end}) of {d.stream!r} and the range "
                                            f"proof rebuild root {to_hex(d.root)} at size {d.size}"))
    verified = Verified("dpl-disclosure/1", d.stream, checks[-1].detail, d.log_id, d.size, d.root, d.anchor)
    mismatched = [name for name, mine, theirs in (
        # a disclosure of a log not yet bound has log_id null (section 7): never the profile's
        ("log_id", p["log_id"], to_hex(d.log_id) if d.log_id is not None else None), ("stream", p["stream"], d.stream),
        ("range", (p["range"]["from"], p["range"]["to"]), (d.start, d.end)),
        ("checkpoint", (p["checkpoint"]["size"], p["checkpoint"]["root"]), (d.size, to_hex(d.root))),
    ) if mine != theirs]
    if mismatched:
        checks.append(Check("same range", False, "the profile and the disclosure differ in "
                            + ", ".join(mismatched) + ": the disclosure does not cover what the profile describes"))
        return ProfileVerdict(checks, verified=verified)
    checks.append(Check("same range", True, "the profile describes exactly the disclosed range and checkpoint"))
    try:
        recomputed = build_profile(iter(d.records), log_id=d.log_id, stream=d.stream, start=d.start, end=d.end,
                                   checkpoint_size=d.size, checkpoint_root=d.root, tz=p["tz"],
                                   mapping=p["mapping"], thresholds=p["thresholds"])
    except InvalidArgumentError as e:
        checks.append(Check("figures", False, f"the profile's parameters cannot be used: {e}"))
        return ProfileVerdict(checks, verified=verified)
    differences = compare_profiles(p, recomputed)
    if differences:
        named = "; ".join(f"{path}: claimed {figure_text(c)}, recomputed {figure_text(r)}"
                          for path, c, r in differences[:SHOWN_DIFFERENCES])
        more = f" (and {len(differences) - SHOWN_DIFFERENCES} more)" if len(differences) > SHOWN_DIFFERENCES else ""
        checks.append(Check("figures", False, f"{len(differences)} figure(s) differ from the records: {named}{more}"))
    else:
        checks.append(Check("figures", True, f"all {_leaves(recomputed)} figures recomputed identically from "
                                             f"{n} disclosed record(s)"))
    return ProfileVerdict(checks, differences, verified)
