"""dpl apply and dpl applications … on the local store, acting as the party whose API key is in
DPL_API_KEY: the factory applies (its grant created), the lender reviews, asks for more and
declines; the factory answers and withdraws; refusals are one line on stderr, exit 1."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import dpl  # noqa: F401 (fixture)
from tests.cli.test_grants_cli import _key, _owned_log

pytestmark = pytest.mark.cli
ACME, BANK, OTHER = "0x" + "22" * 20, "0x" + "33" * 20, "0x" + "44" * 20


def test_apply_review_request_more_answer_decline_and_refusals(dpl):
    acme, bank, other = _key(dpl, "factory", "acme", ACME), _key(dpl, "lender", "bank", BANK), \
        _key(dpl, "lender", "other", OTHER)
    log_id = _owned_log(dpl.home, "acme")
    grant = {"format": "dpl-grant/1", "lender": BANK, "logs": [log_id], "records": {"from": 0, "to": 10},
             "types": {"iot.telemetry": ["*"]}, "expires": "2099-01-01T00:00:00Z"}
    (dpl.tmp / "grant.json").write_text(json.dumps(grant))
    (dpl.tmp / "wider.json").write_text(json.dumps({**grant, "types": {"iot.telemetry": ["*"],
                                                                       "mes.work_order": ["*"]}}))
    as_ = lambda key: {"DPL_API_KEY": key}  # noqa: E731
    apply_args = ("apply", "--lender", "bank", "--amount", "1250000", "--currency", "CNY", "--purpose",
                  "Working capital", "--collateral", "acme/line-a:0:10", "--grant", "grant.json")

    _, _, err = dpl(*apply_args, ok=False, extra_env=as_(bank))
    assert err.strip() == "error: only a factory applies for a loan"
    _, _, err = dpl(*apply_args[:-4], "--collateral", "acme/line-a:0", "--grant", "grant.json", ok=False,
                    extra_env=as_(acme))
    assert err.startswith("error: --collateral: 'acme/line-a:0' is not LOG:FROM:TO") and len(err.splitlines()) == 1
    _, out, _ = dpl(*apply_args, "--json", extra_env=as_(acme))
    made = json.loads(out)
    assert made["id"] == 1 and made["state"] == "submitted" and made["grant_ids"] == [1]
    assert made["application"]["collateral"] == [{"log_id": log_id, "from": 0, "to": 10}]

    _, out, _ = dpl("applications", "list", extra_env=as_(bank))
    assert out.startswith("application 1  submitted  factory acme  lender bank  1250000 CNY")
    _, _, err = dpl("applications", "list", extra_env=as_(other))
    assert err.strip() == "no applications"
    _, _, err = dpl("applications", "show", "1", ok=False, extra_env=as_(other))
    assert err.strip() == "error: no application 1"

    _, _, err = dpl("applications", "review", "1", ok=False, extra_env=as_(acme))
    assert err.strip() == "error: only the lender may review an application, not a factory"
    dpl("applications", "review", "1", extra_env=as_(bank))
    _, out, _ = dpl("applications", "decide", "1", "--request-more", "--grant", "wider.json", "--text",
                    "the work orders too", "--json", extra_env=as_(bank))
    assert json.loads(out)["state"] == "more-data-requested"
    _, _, err = dpl("applications", "decide", "1", "--decline", "--reason", "other", "--text", "no", ok=False,
                    extra_env=as_(bank))
    assert err.strip().startswith("error: the application is more-data-requested: decline is allowed only when")
    _, out, _ = dpl("applications", "more-data", "1", "--grant", "wider.json", "--json", extra_env=as_(acme))
    assert json.loads(out)["state"] == "submitted" and json.loads(out)["grant_ids"] == [1, 2]
    _, _, err = dpl("applications", "decide", "1", "--decline", "--reason", "bored", "--text", "no", ok=False,
                    extra_env=as_(bank))
    assert err.startswith("error: decision.reason: must be one of insufficient-collateral")
    _, out, _ = dpl("applications", "decide", "1", "--decline", "--reason", "credit-policy", "--text",
                    "not this quarter", extra_env=as_(bank))
    assert out.startswith("application 1  declined")
    assert [line.split()[-1] for line in out.splitlines()[1:]] == ["submitted", "under-review", "more-data-requested",
                                                                   "submitted", "declined"]
    _, _, err = dpl("applications", "withdraw", "1", ok=False, extra_env=as_(acme))
    assert err.strip().startswith("error: the application is declined")

    # a second application, withdrawn: its grant is revoked
    _, out, _ = dpl(*apply_args, "--json", extra_env=as_(acme))
    second = json.loads(out)["id"]
    _, out, _ = dpl("applications", "withdraw", str(second), "--json", extra_env=as_(acme))
    gone = json.loads(out)
    assert gone["state"] == "withdrawn"
    grants = {g["id"]: g["state"] for g in json.loads(dpl("grants", "list", "--json", extra_env=as_(acme))[1])}
    assert all(grants[g] == "revoked" for g in gone["grant_ids"]) and grants[1] == "live"
