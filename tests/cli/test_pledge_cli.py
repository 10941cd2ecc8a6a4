"""dpl pledge / lenders / asset: bad input and a missing node are clear errors, before any
chain call where possible (the chain story itself is in tests/integration/test_pledges.py)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import dpl  # noqa: F401 (fixture)

pytestmark = pytest.mark.cli
DOWN = {"DPL_RPC_URL": "http://127.0.0.1:9"}  # nothing listens on the discard port


def test_a_malformed_consent_is_refused_before_the_chain_is_asked(dpl):
    (dpl.tmp / "junk.json").write_text("{not json")
    _, _, err = dpl("pledge", "issue", "junk.json", "--key", "dev2", ok=False, extra_env=DOWN)
    assert "junk.json is not a JSON consent" in err
    (dpl.tmp / "proof.json").write_text(json.dumps({"format": "dpl-proof/1"}))
    _, _, err = dpl("pledge", "issue", "proof.json", "--key", "dev2", ok=False, extra_env=DOWN)
    assert "not a dpl-consent/2 document" in err
    _, _, err = dpl("pledge", "issue", "missing.json", "--key", "dev2", ok=False, extra_env=DOWN)
    assert "cannot read missing.json" in err


def test_a_consent_or_bundle_file_is_read_strictly_before_the_chain_is_asked(dpl):
    (dpl.tmp / "twice.json").write_text('{"format": "dpl-consent/1", "format": "dpl-consent/1"}')
    _, _, err = dpl("pledge", "issue", "twice.json", "--key", "dev2", ok=False, extra_env=DOWN)
    assert "twice.json is not a JSON consent: duplicate key 'format'" in err
    (dpl.tmp / "deep.json").write_bytes(b"[" * 100_000)
    _, _, err = dpl("pledge", "verify", "1", "--bundle", "deep.json", ok=False, extra_env=DOWN)
    assert "deep.json is not a JSON collateral bundle: nested deeper than 64 levels" in err


def test_issue_needs_the_lender_key(dpl):
    code, _, err = dpl("pledge", "issue", "c.json", ok=None, extra_env=DOWN)
    assert code == 2 and "--key" in err


@pytest.mark.parametrize("args", [
    ["pledge", "show", "1"],
    ["pledge", "list"],
    ["lenders", "list"],
    ["asset", "create", "--log", "x/y", "--from", "0", "--to", "5"],
])
def test_a_node_that_is_down_is_named(dpl, args):
    _, _, err = dpl(*args, ok=False, extra_env=DOWN)
    assert "http://127.0.0.1:9 is not answering" in err


def test_token_ids_start_at_one(dpl):
    code, _, err = dpl("pledge", "show", "0", ok=None, extra_env=DOWN)
    assert code == 2 and "greater than or equal to 1" in err


def test_bad_terms_are_named_before_the_chain_is_asked(dpl):
    code, _, err = dpl("pledge", "consent", "--log", "x/y", "--from", "0", "--to", "5", "--lender", "dev2",
                       "--principal", "1", "--currency", "CNY", "--maturity", "next june", "--lien-end",
                       "2027-01-01", "--samples", "3", "--loan-ref", "L", "--out", "c.json", ok=False,
                       extra_env=DOWN)
    assert "--maturity: 'next june' is not a date" in err
    _, _, err = dpl("pledge", "consent", "--log", "x/y", "--from", "0", "--to", "5", "--lender", "dev2",
                    "--principal", "1", "--currency", "CNY", "--maturity", "2027-06-01", "--lien-end",
                    "2027-01-01", "--samples", "3", "--loan-ref", "L", "--out", "c.json", ok=False, extra_env=DOWN)
    assert "--lien-end must be after --maturity" in err
