"""dpl-application/1, dpl-decision/1 and the state machine (pure): every field named when wrong,
every move made only by its role and only from its states."""

from __future__ import annotations

import copy

import pytest
from eth_utils import to_checksum_address

from ledger import applications as rules
from ledger.errors import ConflictError, ForbiddenError, InvalidArgumentError

LENDER = "0x" + "ab" * 20
LOG = "0x" + "11" * 32
OTHER_LOG = "0x" + "22" * 32


def _grant(**over) -> dict:
    return {"format": "dpl-grant/1", "lender": LENDER, "logs": [LOG], "records": {"from": 0, "to": 100},
            "types": {"iot.telemetry": ["*"]}, "expires": "2099-01-01T00:00:00Z", **over}


def _app(**over) -> dict:
    return {"format": "dpl-application/1", "lender": LENDER, "amount": 1_250_000, "currency": "CNY",
            "purpose": "Working capital", "collateral": [{"log_id": LOG, "from": 0, "to": 100}],
            "grant": _grant(), **over}


def _terms(**over) -> dict:
    return {"log_id": LOG, "from": 10, "to": 50, "principal": "1000000", "currency": "CNY",
            "maturity": "2027-03-01", "lien_end": "2027-06-01", "samples": 4, "loan_ref": "LOAN-1", **over}


def test_a_good_application_is_checked_into_its_canonical_form():
    out = rules.check_application(_app())
    assert out["amount"] == "1250000" and out["lender"] == to_checksum_address(LENDER)
    assert rules.check_application({**_app(), "amount": "1250000"}) == out  # integer or decimal string: one form
    assert out["grant"]["format"] == "dpl-grant/1" and "profile" not in out
    assert rules.check_application(_app(profile={"tz": "+08:00"}))["profile"] == {"tz": "+08:00"}


@pytest.mark.parametrize("over,field", [
    ({"format": "dpl-application/2"}, "application.format"),
    ({"lender": "0x12"}, "application.lender"),
    ({"amount": 0}, "application.amount"),
    ({"amount": "01"}, "application.amount"),
    ({"amount": 1.5}, "application.amount"),
    ({"amount": 2**256}, "application.amount"),
    ({"amount": True}, "application.amount"),
    ({"currency": "cny"}, "application.currency"),
    ({"purpose": ""}, "application.purpose"),
    ({"purpose": "x" * 501}, "application.purpose"),
    ({"purpose": "bell\x07"}, "application.purpose"),
    ({"collateral": []}, "application.collateral"),
    ({"collateral": [{"log_id": LOG, "from": 5, "to": 5}]}, "application.collateral[0]"),
    ({"collateral": [{"log_id": LOG, "from": 0, "to": 10}, {"log_id": LOG, "from": 5, "to": 20}]},
     "application.collateral[1]"),
    ({"collateral": [{"log_id": OTHER_LOG, "from": 0, "to": 10}]}, "application.collateral[0].log_id"),
    ({"grant": _grant(lender="0x" + "cd" * 20)}, "application.grant.lender"),
    ({"grant": _grant(expires="soon")}, "application.grant expires"),
    ({"extra": 1}, "application.extra"),
    ({"profile": {"tz": "+25:00"}}, "application.profile"),
    ({"profile": {"days": 7}}, "application.profile.days"),
    ({"profile": []}, "application.profile"),
])
def test_a_bad_application_is_refused_naming_the_field(over, field):
    with pytest.raises(InvalidArgumentError) as e:
        rules.check_application(_app(**over))
    assert str(e.value).startswith(field), str(e.value)


def test_missing_fields_are_named():
    for key in _app():
        doc = _app()
        del doc[key]
        with pytest.raises(InvalidArgumentError, match=f"application.{key}: missing"):
            rules.check_application(doc)


def test_the_three_decisions():
    app = rules.check_application(_app())
    ok = rules.check_decision({"format": "dpl-decision/1", "decision": "approve", "terms": _terms(principal=1000000)}, app)
    assert ok["terms"]["principal"] == "1000000" and ok["terms"]["from"] == 10 and "profile" not in ok["terms"]
    more = rules.check_decision({"format": "dpl-decision/1", "decision": "request-more", "text": "more please",
                                 "grant": _grant(records={"from": 0, "to": 1000})}, app)
    assert more["grant"]["records"] == {"from": 0, "to": 1000}
    no = rules.check_decision({"format": "dpl-decision/1", "decision": "decline", "reason": "credit-policy",
                               "text": "not this quarter"}, app)
    assert no["reason"] == "credit-policy"


@pytest.mark.parametrize("decision,field", [
    ({"decision": "maybe"}, "decision.decision"),
    ({"decision": "approve", "terms": _terms(to=101)}, "decision.terms: the range pledged"),
    ({"decision": "approve", "terms": _terms(log_id=OTHER_LOG)}, "decision.terms: the range pledged"),
    ({"decision": "approve", "terms": _terms(principal=0)}, "decision.terms.principal"),
    ({"decision": "approve", "terms": _terms(currency="yen")}, "decision.terms.currency"),
    ({"decision": "approve", "terms": _terms(lien_end="2027-01-01")}, "decision.terms.lien_end"),
    ({"decision": "approve", "terms": _terms(maturity="tomorrow")}, "decision.terms.maturity"),
    ({"decision": "approve", "terms": _terms(samples=0)}, "decision.terms.samples"),
    ({"decision": "approve", "terms": _terms(loan_ref="")}, "decision.terms.loan_ref"),
    ({"decision": "approve", "terms": _terms(profile={"tz": "nowhere"})}, "decision.terms.profile"),
    ({"decision": "approve", "terms": _terms(covenants={"format": "dpl-covenants/1"})}, "decision.terms.covenants"),
    ({"decision": "approve", "terms": _terms(extra=1)}, "decision.terms.extra"),
    ({"decision": "request-more", "text": "t", "grant": _grant(lender="0x" + "cd" * 20)}, "decision.grant.lender"),
    ({"decision": "request-more", "grant": _grant()}, "decision.text: missing"),
    ({"decision": "decline", "reason": "bored", "text": "t"}, "decision.reason"),
    ({"decision": "decline", "reason": "other", "text": " "}, "decision.text"),
    ({"decision": "decline", "reason": "other", "text": "t", "terms": {}}, "decision.terms: unknown"),
])
def test_a_bad_decision_is_refused_naming_the_field(decision, field):
    app = rules.check_application(_app())
    with pytest.raises(InvalidArgumentError) as e:
        rules.check_decision({"format": "dpl-decision/1", **copy.deepcopy(decision)}, app)
    assert str(e.value).startswith(field), str(e.value)


def test_moves_by_role_and_state():
    for action, (role, sources, target) in rules.MOVES.items():
        for state in rules.STATES:
            for who in ("factory", "lender", "auditor", "admin"):
                if who != role:
                    with pytest.raises(ForbiddenError):
                        rules.move(state, action, who)
                elif state in sources:
                    assert rules.move(state, action, who) == target
                else:
                    with pytest.raises(ConflictError, match=f"the application is {state}"):
                        rules.move(state, action, who)


def test_the_paths():
    s = rules.move("submitted", "review", "lender")
    assert rules.move(rules.move(rules.move(s, "approve", "lender"), "consent", "factory"), "pledge", "lender") == "pledged"
    assert rules.move(rules.move(s, "request-more", "lender"), "more-data", "factory") == "submitted"
    assert rules.move(s, "decline", "lender") == "declined"
    for final in ("declined", "withdrawn", "pledged"):  # nothing leaves a final state
        for action, (role, _, _) in rules.MOVES.items():
            with pytest.raises(ConflictError):
                rules.move(final, action, role)
