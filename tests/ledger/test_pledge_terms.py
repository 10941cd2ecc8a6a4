"""Pledge terms, dates and consent documents: validation with clear errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.errors import InvalidArgumentError
from ledger.pledge.terms import (
    MOMENT_MAX, Terms, check_token_id, consent_dates, effective_status, loan_ref_digest, parse_nonce, parse_time,
    read_consent, read_extension,
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
    ({"samples": 0}, "samples must be from 1 to 4294967295"),
    ({"samples": 2**32}, "samples must be from 1 to 4294967295"),
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


def test_dates_span_1970_to_9999():
    assert parse_time("1970-01-01", "--lien-end") == 0
    assert parse_time("9999-12-31T23:59:59Z", "--lien-end") == MOMENT_MAX == 253_402_300_799
    assert parse_time(str(MOMENT_MAX), "--lien-end") == MOMENT_MAX


@pytest.mark.parametrize("text, words", [
    ("1969-12-31", "before 1970-01-01"),
    ("0001-01-01", "before 1970-01-01"),
    ("0001-01-01T00:00:00+01:00", "before 1970-01-01"),  # year 0 in UTC: no datetime can hold it
    ("1969-12-31T23:59:59Z", "before 1970-01-01"),
    (str(MOMENT_MAX + 1), "after 9999-12-31"),
    (str(2**64), "after 9999-12-31"),  # past uint64: the registry would take it modulo nothing, we refuse
    ("9" * 5000, "after 9999-12-31"),  # int() of it would raise ValueError (4,300-digit limit)
    ("9999-12-31T23:00:00-05:00", "after 9999-12-31"),  # year 10000 in UTC
])
def test_dates_out_of_range_are_refused_by_name(text, words):
    """Before: parse_time returned -86400 for 1969-12-31 and 2^64 for '18446744073709551616', and
    raised a bare ValueError (a traceback in the CLI) on 5,000 digits."""
    with pytest.raises(InvalidArgumentError, match=f"--lien-end: .*{words}"):
        parse_time(text, "--lien-end")


def test_consent_dates_are_parsed_and_ordered_with_the_callers_names():
    d = consent_dates("2027-06-30", "2027-12-31")
    assert (d.maturity, d.lien_end, d.max_lien_end, d.deadline) == (1_814_313_600, 1_830_211_200, 1_830_211_200, None)
    flag = lambda f: "--" + f.replace("_", "-")  # noqa: E731
    with pytest.raises(InvalidArgumentError, match="--lien-end must be after --maturity"):
        consent_dates("2027-12-31", "2027-12-31", name=flag)
    with pytest.raises(InvalidArgumentError, match="max_lien_end must not be before lien_end"):
        consent_dates("2027-06-30", "2027-12-31", "2027-12-30")
    with pytest.raises(InvalidArgumentError, match="deadline: .* after 9999-12-31"):
        consent_dates("2027-06-30", "2027-12-31", None, "99999999999999")


def test_nonces_are_below_2_256():
    assert parse_nonce(str(2**256 - 1)) == 2**256 - 1
    assert 0 <= parse_nonce(None) < 2**256
    for bad in (str(2**256), "-1", "1e9", "", "9" * 79):
        with pytest.raises(InvalidArgumentError, match="nonce must be a decimal number below 2\\^256"):
            parse_nonce(bad)


def test_token_ids_are_what_the_registry_counts():
    assert check_token_id(1) == 1 and check_token_id(2**64 - 1) == 2**64 - 1
    for bad in (0, 2**64, 2**256, -1, True):
        with pytest.raises(InvalidArgumentError, match="token id"):
            check_token_id(bad)


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
    ({"nonce": "many"}, "nonce must be a whole number"),
    ({"terms": {"log_id": "0x12"}}, "log_id must be 0x and 64 hex digits"),
    ({"registry": "nowhere"}, "registry 'nowhere' is not an address"),
    ({"nonce": str(2**256)}, "nonce is out of range"),
    ({"nonce": -1}, "nonce is out of range"),
    ({"deadline": 10**30}, "deadline: .* is not a moment from 1970-01-01 to 9999-12-31"),
    ({"deadline": "soon"}, "deadline must be a whole number"),
    ({"deadline": 1.9e9}, "deadline must be a whole number"),
    ({"chain_id": True}, "chain_id must be a whole number"),
    ({"terms": {**terms().as_json(), "from": 1.5}}, "from must be a whole number"),
    ({"terms": {**terms().as_json(), "lien_end": 2**64}}, "lien_end: .* is not a moment"),
    ({"terms": {**terms().as_json(), "principal": "1e3"}}, "principal must be a whole number"),
    ({"terms": ["not", "terms"]}, "terms must be an object"),
    ({"signature": "0x" + "ab" * 5000}, "signature"),
])
def test_malformed_consents_are_refused(changes, words):
    with pytest.raises(InvalidArgumentError, match=words):
        read_consent(consent_doc(**changes))
    with pytest.raises(InvalidArgumentError):
        read_consent(["not", "a", "document"])


COVENANTS = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [{"code": "stoppage", "max_hours": 12}]}


def test_a_consent_carries_the_covenants_its_terms_commit_to():
    """The signed terms' covenantsDigest is the covenants' SHA-256 (zero: none): a consent whose
    covenants are not those (a forged or dropped set, or a set beside zero) is refused."""
    from ledger.covenants import covenants_digest
    from ledger.pledge.terms import CovenantsNotPledged, covenants_digest_of

    assert covenants_digest_of(None) == bytes(32) and covenants_digest_of(COVENANTS) == covenants_digest(COVENANTS)
    pledged = replace(terms(), covenants_digest=covenants_digest(COVENANTS))
    doc = consent_doc(terms=pledged.as_json(), covenants=COVENANTS)
    assert read_consent(doc).terms == pledged and doc["terms"]["covenants_digest"] == "0x" + covenants_digest(COVENANTS).hex()
    forged = {**COVENANTS, "covenants": [{"code": "stoppage", "max_hours": 120}]}
    for changes, words in [({"covenants": forged}, "edited or are another loan's"),
                           ({"covenants": None}, "the consent carries none"),
                           ({"covenants": [COVENANTS]}, "must be a JSON object")]:
        with pytest.raises(CovenantsNotPledged, match=words):
            read_consent({**doc, **changes})
    with pytest.raises(CovenantsNotPledged, match="never agreed on chain"):
        read_consent(consent_doc(covenants=COVENANTS))
    # a consent written before terms carried the digest: no covenants, zero
    old = consent_doc()
    del old["terms"]["covenants_digest"]
    assert read_consent(old).terms.covenants_digest == bytes(32)


def extension_doc(**changes) -> dict:
    doc = {"format": "dpl-extension/1", "chain_id": 31337, "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
           "factory": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "token_id": 7, "lien_end": 1_950_000_000,
           "nonce": str(2**255), "deadline": 1_900_000_000, "signature": "0x" + "cd" * 65}
    return {**doc, **changes}


def test_an_extension_document_reads_back():
    e = read_extension(extension_doc())
    assert (e.token_id, e.lien_end, e.nonce, e.deadline, e.signature) == (7, 1_950_000_000, 2**255, 1_900_000_000,
                                                                           b"\xcd" * 65)
    assert read_extension(extension_doc(token_id="7", lien_end="1950000000")).token_id == 7


@pytest.mark.parametrize("changes, words", [
    ({"format": "dpl-consent/2"}, "not a dpl-extension/1"),
    ({"token_id": 0}, "token id 0 is not in 1..18446744073709551615"),
    ({"token_id": 2**64}, "token id .* is not in 1.."),
    ({"token_id": "9" * 100}, "token_id is out of range: a number of 100 digits"),  # never int() of it
    ({"lien_end": 2**64 - 1}, "lien_end: .* is not a moment"),
    ({"nonce": str(2**256)}, "nonce is out of range"),
    ({"deadline": -5}, "deadline is out of range"),
    ({"signature": None}, "signature"),
    ({"registry": "0x1234"}, "registry '0x1234' is not an address"),
])
def test_malformed_extensions_are_refused(changes, words):
    with pytest.raises(InvalidArgumentError, match=words):
        read_extension(extension_doc(**changes))
    with pytest.raises(InvalidArgumentError, match="malformed"):
        read_extension({k: v for k, v in extension_doc().items() if k != "nonce"})


def test_typed_data_writes_integers_as_decimal_strings():
    """JSON numbers above 2^53 read as other values in a browser or a wallet (and anvil refuses
    them): every integer of the message is a decimal string, read by eth-account as the same
    integer (the signature does not change)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from ledger.chain.client import PLEDGE_EXTENSION_TYPES, Chain
    from ledger.pledge.chain import extension_typed_data, typed_data

    chain = Chain("http://127.0.0.1:9", "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    chain.__dict__["chain_id"] = 31337  # the cached property: no node is asked
    big = 2**53 + 1
    consent = typed_data(chain, terms(), big, big)
    m = consent["message"]
    assert (m["nonce"], m["deadline"], m["start"], m["maturity"], m["samples"]) == (
        str(big), str(big), "0", "1800000000", "7")
    assert m["principal"] == str(5 * 10**30) and m["lender"] == LENDER and m["currency"] == "0x434e59"
    assert consent["domain"]["chainId"] == 31337  # compared by wallets with their chain's: a number
    ext = extension_typed_data(chain, 2**64 - 1, 1_950_000_000, 2**256 - 1, big)
    assert ext["message"] == {"tokenId": str(2**64 - 1), "newLienEnd": "1950000000", "nonce": str(2**256 - 1),
                              "deadline": str(big)}
    key = Account.create().key
    as_numbers = {**ext, "message": {"tokenId": 2**64 - 1, "newLienEnd": 1_950_000_000, "nonce": 2**256 - 1,
                                     "deadline": big}}
    assert Account.sign_message(encode_typed_data(full_message=ext), key).signature == \
        Account.sign_message(encode_typed_data(full_message=as_numbers), key).signature
    direct = Account.from_key(key).sign_typed_data(chain.domain(), PLEDGE_EXTENSION_TYPES, as_numbers["message"])
    assert chain.recover_typed_data(ext, bytes(direct.signature)) == Account.from_key(key).address


def test_lapse_is_decided_once_and_a_lien_end_of_now_has_lapsed():
    """The registry's rule (``block.timestamp >= lienEnd``): the boundary second is lapsed."""
    from ledger.pledge.terms import has_lapsed, recorded_status

    assert not has_lapsed(lien_end=100, now=99)
    assert has_lapsed(lien_end=100, now=100) and has_lapsed(lien_end=100, now=101)
    for status in ("live", "released", "defaulted"):
        assert recorded_status(effective_status(status, lien_end=100, now=100)) == status
