"""dpl covenants check: a valid set in words with its digest; a bad one named in one line, exit 1."""

from __future__ import annotations

import hashlib
import json

import pytest

from ledger.canonical import canonicalize
from tests.cli.test_cli import dpl  # noqa: F401 (fixture)

pytestmark = pytest.mark.cli

SET = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
    {"code": "anchoring_cadence", "max_hours": 48},
    {"code": "output_floor", "min_percent": 70},
    {"code": "stoppage", "max_hours": 8},
    {"code": "cross_source_mismatch", "max_ratio": "0.100000"},
    {"code": "scrap_ceiling", "max_ratio": "0.050000"},
    {"code": "customer_concentration", "max_top1_share": "0.500000"}]}
DIGEST = "0x" + hashlib.sha256(canonicalize(SET)).hexdigest()


def test_a_valid_set_is_printed_in_words_with_its_digest(dpl):
    (dpl.tmp / "c.json").write_text(json.dumps(SET, indent=2))
    _, out, _ = dpl("covenants", "check", "c.json")
    assert "stoppage: no machine of the pledged range goes more than 8 hours without a telemetry reading" in out
    assert "output_floor: each week's MES good output per day with records is at least 70 %" in out
    assert out.rstrip().endswith(f"digest: {DIGEST}")
    _, out, _ = dpl("covenants", "check", "c.json", "--json")
    assert json.loads(out) == {"covenants": SET, "digest": DIGEST}


@pytest.mark.parametrize("text, words", [
    ('{"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [{"code": "stoppage", "max_hours": 0}]}',
     "error: covenants[0].max_hours: must be a whole number of hours from 1 to 8760, not 0"),
    ('{"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [{"code": "sunshine"}]}',
     "error: covenants[0].code: 'sunshine' is not a covenant"),
    ('{"format": "dpl-covenants/1", "tz": "+08:00", "tz": "+00:00", "covenants": []}',
     "error: c.json is not a JSON covenant set: duplicate key 'tz'"),
    ("[" * 100_000, "error: c.json is not a JSON covenant set: nested deeper than 64 levels"),
])
def test_a_bad_set_is_one_line_and_exit_1(dpl, text, words):
    (dpl.tmp / "c.json").write_text(text)
    code, out, err = dpl("covenants", "check", "c.json", ok=False)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [words] or err.strip().startswith(words)
    assert len(err.strip().splitlines()) == 1


def test_a_missing_file_is_named(dpl):
    code, _, err = dpl("covenants", "check", "nowhere.json", ok=False)
    assert code == 1 and "cannot read nowhere.json" in err
