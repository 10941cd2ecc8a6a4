"""Pledge terms, dates and consent documents: validation with clear errors."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidArgumentError
from ledger.pledges import (
    Terms, effective_status, loan_ref_digest, parse_time, read_consent,
)

LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def terms(**changes) -> Terms:
    base = dict(log_id=b"\x01" * 32, start=0, end=10, checkpoint_size=20, asset_digest=b"\x02" * 32,
                principal=5 * 10**30, currency="CNY", maturity=1_800_000_000, lien_end=1_900_000_000,
                max_lien_end=1_950_000_000, samples=7, loan_ref_digest=loan_ref_digest("LN-1"), lender=LENDER)
    return Terms(**{**base, **changes})


def test_terms_survive_json_and_chain_forms():
    t = terms()
    assert Terms.from_json(t.as_json()) == t
    assert Terms.from_chain(t.as_tuple()) == t
    assert Terms.from_chain(t.message()) == t
    assert t.as_json()["principal"] == str(5 * 10**30)  # big integers travel as strings
    assert t.as_json()["maturity_utc"] == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize("changes, words", [
    ({"currency": "cny"}, "three capital letters"),
    ({"currency": "CNYX"}, "three capital letters"),
    ({"principal": 0}, "principal"),
    ({"principal": 2**256}, "principal"),
    ({"samples": 0}, "samples"),
    ({"end": 2**64}, "end is out of range"),
    ({"lender": "0x1234"}, "not an address"),
])
def test_bad_terms_are_refused_by_name(changes, words):
    with pytest.raises(InvalidArgumentError, match=words):
        terms(**changes)


@pytest.mark.parametrize("text, expected", [
    ("2027-06-30", 1_814_313_600),
    ("2027-06-30T08:00:00+08:00", 1_814_313_600),
    ("2027-06-30T00:00:00Z", 1_814_313_600),
    ("1814313600", 1_814_313_600),
])
def test_dates(text, expected):
    assert parse_time(text, "--maturity") == expected


@pytest.mark.parametrize("text", ["30/06/2027", "2027-06-30T00:00:00", "soon", ""])
def test_bad_dates_say_what_is_wanted(text):
    with pytest.raises(InvalidArgumentError, match="--maturity"):
        parse_time(text, "--maturity")


def test_the_max_lien_end_bounds_the_lien_end():
    assert terms(max_lien_end=1_900_000_000).max_lien_end == 1_900_000_000  # no extension without asking
    with pytest.raises(InvalidArgumentError, match="max_lien_end must not be before lien_end"):
        terms(max_lien_end=1_899_999_999)
    with pytest.raises(InvalidArgumentError, match="max_lien_end is out of range"):
        terms(max_lien_end=2**64)


def test_lapse_is_read_against_the_chain_clock():
    assert effective_status("live", lien_end=100, now=99) == "live"
    assert effective_status("live", lien_end=100, now=100) == "lapsed"
    assert effective_status("defaulted", lien_end=100, now=500) == "defaulted"
    assert effective_status("released", lien_end=100, now=500) == "released"


def test_loan_reference_must_say_something():
    assert loan_ref_digest("LN-1") != loan_ref_digest("LN-2")
    with pytest.raises(InvalidArgumentError):
        loan_ref_digest("  ")


def consent_doc(**changes) -> dict:
    doc = {"format": "dpl-consent/2", "chain_id": 31337, "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
           "factory": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "terms": terms().as_json(),
           "nonce": str(2**255), "deadline": 1_900_000_000, "signature": "0x" + "ab" * 65}
    return {**doc, **changes}


def test_a_consent_document_reads_back():
    c = read_consent(consent_doc())
    assert c.terms == terms() and c.nonce == 2**255 and c.signature == b"\xab" * 65


@pytest.mark.parametrize("changes, words", [
    ({"format": "dpl-proof/1"}, "not a dpl-consent/2"),
    ({"format": "dpl-consent/1"}, "before lien ends were bounded"),
    ({"signature": "abc"}, "signature"),
    ({"nonce": "many"}, "malformed"),
    ({"terms": {"log_id": "0x12"}}, "log_id must be 0x and 64 hex digits"),
    ({"registry": "nowhere"}, "malformed"),
])
def test_malformed_consents_are_refused(changes, words):
    with pytest.raises(InvalidArgumentError, match=words):
        read_consent(consent_doc(**changes))
    with pytest.raises(InvalidArgumentError):
        read_consent(["not", "a", "document"])
