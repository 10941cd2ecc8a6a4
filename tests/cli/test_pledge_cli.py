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


@pytest.mark.parametrize("args", [
    ["pledge", "show", str(2**256)],
    ["pledge", "show", str(2**64)],
    ["pledge", "release", str(2**64), "--key", "dev2"],
    ["pledge", "extend", str(2**256), "--lien-end", "2030-01-01", "--key", "dev2"],
    ["pledge", "extension", "--token", str(2**64), "--lien-end", "2030-01-01", "--out", "e.json"],
])
def test_token_ids_past_uint64_are_usage_errors(dpl, args):
    """Before: typer checked min=1 only; 2^256 reached web3 and printed a traceback."""
    code, _, err = dpl(*args, ok=None, extra_env=DOWN)
    assert code == 2 and "Traceback" not in err and "18446744073709551615" in err, err


@pytest.mark.parametrize("lien_end, words", [
    (str(2**64), "after 9999-12-31"), ("9" * 5000, "after 9999-12-31"), ("1969-12-31", "before 1970-01-01"),
])
def test_out_of_range_lien_ends_are_refused_before_the_chain_is_asked(dpl, lien_end, words):
    """Before: parse_time returned any integer (2^64, -86400) or raised ValueError on 5,000 digits."""
    _, _, err = dpl("pledge", "extend", "1", "--lien-end", lien_end, "--key", "dev2", ok=False, extra_env=DOWN)
    assert f"--lien-end: " in err and words in err and "not answering" not in err, err
    _, _, err = dpl("pledge", "extension", "--token", "1", "--lien-end", lien_end, "--out", "e.json", ok=False,
                    extra_env=DOWN)
    assert words in err and "not answering" not in err, err


def _consent_file(dpl, **changes) -> str:
    doc = {"format": "dpl-consent/2", "chain_id": 31337, "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
           "factory": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "nonce": "1", "deadline": 1_900_000_000,
           "signature": "0x" + "ab" * 65, "terms": {
               "log_id": "0x" + "01" * 32, "from": 0, "to": 10, "checkpoint_size": 20, "asset_digest": "0x" + "02" * 32,
               "principal": "5", "currency": "CNY", "maturity": 1_800_000_000, "lien_end": 1_850_000_000,
               "max_lien_end": 1_850_000_000, "samples": 3, "loan_ref_digest": "0x" + "03" * 32,
               "lender": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}}
    doc.update(changes)
    (dpl.tmp / "c.json").write_text(json.dumps(doc))
    return "c.json"


@pytest.mark.parametrize("changes, words", [
    ({"nonce": str(2**300)}, "nonce is out of range"),
    ({"deadline": 2**80}, "deadline: 1208925819614629174706176 is not a moment"),
    ({"chain_id": "9" * 300}, "chain_id is out of range"),
])
def test_consent_files_with_huge_integers_are_refused_before_the_chain_is_asked(dpl, changes, words):
    """Before: a nonce past uint256 went to web3 (a traceback when encoding the call)."""
    _, _, err = dpl("pledge", "issue", _consent_file(dpl, **changes), "--key", "dev2", ok=False, extra_env=DOWN)
    assert words in err and "not answering" not in err, err


def test_extend_needs_a_lien_end_or_the_factorys_extension(dpl):
    code, _, err = dpl("pledge", "extend", "1", "--key", "dev2", ok=None, extra_env=DOWN)
    assert code == 2 and "--lien-end" in err and "--consent" in err
    (dpl.tmp / "ext.json").write_text(json.dumps({"format": "dpl-extension/1", "token_id": 1}))
    _, _, err = dpl("pledge", "extend", "1", "--consent", "ext.json", "--key", "dev2", ok=False, extra_env=DOWN)
    assert "the extension is malformed" in err and "not answering" not in err
    (dpl.tmp / "ext.json").write_text('{"format": "dpl-extension/1", "format": "dpl-consent/2"}')
    _, _, err = dpl("pledge", "extend", "1", "--consent", "ext.json", "--key", "dev2", ok=False, extra_env=DOWN)
    assert "duplicate key 'format'" in err


@pytest.mark.parametrize("flag, value, words", [
    ("--samples", "10001", "samples: must be from 1 to 10,000"),
    ("--samples", "0", "samples must be from 1 to"),
    ("--principal", "0", "principal must be a positive whole number of minor units"),
    ("--currency", "C1", "currency must be an ISO 4217 code of three capital letters, not 'C1'"),
    ("--nonce", "-1", "nonce must be a decimal number below 2^256"),
])
def test_terms_are_refused_by_the_ledgers_rule_before_the_chain_is_asked(dpl, flag, value, words):
    """Before: samples above 10,000 were refused only after the node was asked (check_consent),
    principal 0 by typer's own bound (another wording than the API's). Now the rule of
    ``Terms``/``check_terms`` speaks, in the API's words, before the store or the chain is asked."""
    args = {"--log": "x/y", "--from": "0", "--to": "5", "--lender": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            "--principal": "1", "--currency": "CNY", "--maturity": "2027-06-01", "--lien-end": "2028-01-01",
            "--samples": "3", "--loan-ref": "L", "--out": "c.json", flag: value}
    code, _, err = dpl("pledge", "consent", *[x for kv in args.items() for x in kv], ok=None, extra_env=DOWN)
    assert code == 1 and words in err and "not answering" not in err and "Traceback" not in err, err
    assert not (dpl.tmp / "c.json").exists()
