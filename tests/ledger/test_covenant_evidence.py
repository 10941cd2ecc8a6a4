"""ledger.covenant_evidence: a warning raised by the monitor's evaluation on synthetic weeks is
re-checked from a disclosure of its window; every alteration of the warning or the disclosure
is caught by the check that names it (docs/COVENANTS.md §5)."""

from __future__ import annotations

import orjson
import pytest

from ledger.covenant_evidence import recheck, recheck_evidence
from tests.ledger.covenant_evidence_cases import COVENANTS, cases, drop_log

CASES = {name: rest for name, *rest in cases()}

#: case -> (the check that fails, words in its line); None: the warning stands.
EXPECTED = {
    "output floor stands": None,
    "output floor, a wider disclosure": None,
    "a later checkpoint": None,
    "stoppage stands": None,
    "output floor, window only (week not shown closed)": ("week closed", "disclose [1071, 1429)"),
    "output floor, part of the window": ("window", "needs every record of the window"),
    "output floor, another range": ("window", "needs every record of the window"),
    "anchoring cadence": ("figure", "judged on block time"),
    "tampered record": ("disclosure", "range proof does not lead to the checkpoint root"),
    "forged value": ("figure", "the warning says value 100.000000, the records give value 240.000000"),
    "forged threshold": ("figure", "the warning says threshold 300.000000, the records give threshold 336.000000"),
    "forged message": ("figure", "the warning says message \"In 2026-W44, MES good output was 1680 units"),
    "forged window": ("figure", "the warning says value 240.000000; message"),
    "another week": ("week closed", "holds no record of 2026-W43"),
    "another root": ("checkpoint", "another checkpoint"),
    "a code not in the set": ("covenant", "have no customer_concentration covenant"),
    "not a warning": ("warning", "window must be {from, to}"),
    "a met week called a warning": ("figure", "the covenant is met"),
    "disclosure of another log": ("same log", "the disclosure is of 'line/b'"),
    "an earlier checkpoint": ("checkpoint", "the disclosure is at size 1429"),
    "stoppage, forged length": ("figure", "the warning says value 43200, the records give value 39600"),
    "stoppage, another machine": ("figure", "the records give no silence of machine m1 longer than 8 hours"),
    "stoppage without key": ("warning", "needs its key"),
    "stoppage going on": None,
    "stoppage from the range": None,
    "scrap ceiling stands": None,
    "scrap ceiling, forged value": ("figure", "the warning says value 0.200000, the records give value 0.100000"),
}


def test_every_case_is_expected():
    assert sorted(CASES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recheck(name):
    warning, disclosure, covenants, profile = CASES[name]
    checks = recheck(warning, disclosure, covenants=covenants, pledged_profile=profile)
    failed = [c for c in checks if not c.ok]
    if EXPECTED[name] is None:
        assert failed == [] and checks[-1].name == "figure"
        assert checks[-1].detail.endswith("— the warning stands")
        return
    check, words = EXPECTED[name]
    assert [c.name for c in failed] == [check] and checks[-1] is failed[0]  # stops at the first that fails
    assert words in failed[0].detail


def test_a_50_percent_drop_is_recomputed_from_the_disclosed_week():
    warning, disclosure, covenants, profile = CASES["output floor stands"]
    assert warning["code"] == "output_floor" and warning["week"] == "2026-W44"
    verdict = recheck_evidence(warning, orjson.dumps(disclosure), covenants=covenants, pledged_profile=profile)
    assert verdict.stands and verdict.verified.size == warning["checkpoint"]["size"]
    assert [c.name for c in verdict.checks] == ["warning", "covenant", "disclosure", "same log", "checkpoint",
                                                "window", "week closed", "figure"]
    assert verdict.checks[-1].detail == ("recomputed from 357 disclosed record(s): value 240.000000, "
                                         "threshold 336.000000 — the warning stands")
    assert verdict.as_json()["stands"] is True


def test_the_same_week_at_full_rate_does_not_stand():
    """The rule is the monitor's: a disclosure of a steady log's W44 gives a met week."""
    from tests.ledger.covenant_evidence_cases import Log
    from tests.ledger.test_covenants import factory, split

    log, end = drop_log()
    steady = Log(factory(36), "drop")
    warning, _, covenants, _ = CASES["output floor stands"]
    f, t = warning["window"]["from"], warning["window"]["to"]
    root = "0x" + steady.root.hex()
    forged = {**warning, "checkpoint": {"size": len(steady.records), "root": root}}
    assert (split(steady.records, 21), split(steady.records, 28)) == (f, t)
    checks = recheck(forged, steady.disclosure(f, t + 1), covenants=covenants, pledged_profile=steady.profile(end))
    assert not checks[-1].ok and checks[-1].detail.endswith("the records give value 480.000000: the covenant is met")


def test_bad_disclosure_text_is_a_failed_check_not_an_exception():
    warning, _, covenants, profile = CASES["output floor stands"]
    checks = recheck(warning, b'{"a": 1, "a": 2}', covenants=covenants, pledged_profile=profile)
    assert checks[-1].name == "disclosure" and not checks[-1].ok and "duplicate" in checks[-1].detail
    checks = recheck(warning, b"[" * 100_000, covenants=covenants, pledged_profile=profile)
    assert checks[-1].name == "disclosure" and not checks[-1].ok


def test_bad_covenants_or_profile_fail_the_covenant_check():
    warning, disclosure, _, profile = CASES["output floor stands"]
    checks = recheck(warning, disclosure, covenants={**COVENANTS, "tz": "8"}, pledged_profile=profile)
    assert (checks[-1].name, checks[-1].ok) == ("covenant", False)
    checks = recheck(warning, disclosure, covenants=COVENANTS, pledged_profile={"format": "x"})
    assert (checks[-1].name, checks[-1].ok) == ("covenant", False)


@pytest.mark.parametrize("code", [[], {}, ["stoppage"]])
def test_a_code_that_is_a_list_or_object_is_named_not_a_type_error(code):
    """check_covenants compared the code with the known ones by hashing it: a list raised TypeError."""
    from ledger.covenants import check_covenants
    from ledger.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"covenants\[0\]\.code: .* is not a covenant"):
        check_covenants({"format": "dpl-covenants/1", "tz": "+00:00", "covenants": [{"code": code}]})
    warning, disclosure, covenants, profile = CASES["output floor stands"]
    checks = recheck({**warning, "code": code}, disclosure, covenants=covenants, pledged_profile=profile)
    assert checks[-1].name == "warning" and "is not a covenant" in checks[-1].detail
