"""``dpl-grant/1`` (ledger/grants.py): the checked form, refusals naming the field, and which
records and fields a grant shows."""

from __future__ import annotations

import pytest

from ledger import exact
from ledger.errors import InvalidArgumentError
from ledger.grants import ALL, check_grant, covers, expired, grant_digest, shown, visible_fields

LOG = "0x" + "ab" * 32
OTHER = "0x" + "cd" * 32
GRANT = {"format": "dpl-grant/1", "lender": "0x" + "70997970c51812dc3a010c7d01b50e0d17dc79c8",
         "logs": [LOG], "records": {"from": 10, "to": 20},
         "types": {"mes.work_order": ["qty_good", "product"], "iot.telemetry": ["*"]},
         "expires": "2027-01-31T00:00:00Z"}
ORDER = {"id": "wo-1", "ts": "2026-10-05T08:00:00+08:00", "type": "mes.work_order",
         "data": {"product": "P-1", "qty_good": 42, "qty_scrap": 3, "unit_price": "12.50"}}


def test_a_grant_is_checked_into_one_form_and_its_digest_does_not_depend_on_spelling():
    g = check_grant(GRANT)
    assert g["lender"] == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert g["types"] == {"iot.telemetry": ["*"], "mes.work_order": ["product", "qty_good"]}
    reordered = {**GRANT, "types": {"iot.telemetry": ["*"], "mes.work_order": ["product", "qty_good"]},
                 "lender": g["lender"]}
    assert grant_digest(reordered) == grant_digest(GRANT) and len(grant_digest(GRANT)) == 32
    assert grant_digest({**GRANT, "expires": "2027-02-01T00:00:00Z"}) != grant_digest(GRANT)


@pytest.mark.parametrize("change, words", [
    ({"format": "dpl-grant/2"}, "grant format: must be 'dpl-grant/1'"),
    ({"lender": "bank-a"}, "grant lender: must be an address"),
    ({"logs": []}, "grant logs: must be a list of 1-16"),
    ({"logs": [LOG, LOG]}, "grant logs: a log is listed twice"),
    ({"logs": ["0x" + "AB" * 32]}, "is not a log id"),
    ({"records": {"from": 5, "to": 5}}, "grant records: the range [5, 5) is empty"),
    ({"records": {"from": -1, "to": 5}}, "grant records.from: must be a record index"),
    ({"records": {"from": 0, "to": 2**63}}, "grant records.to: must be a record index"),
    ({"records": {"from": 0, "since": "2026-10-01T00:00:00Z"}}, "grant records: must be {from, to}"),
    ({"records": {"since": "2026-10-02T00:00:00Z", "until": "2026-10-01T00:00:00Z"}}, "until must be later"),
    ({"records": {"since": "yesterday", "until": "2026-10-01T00:00:00Z"}}, "grant records.since: must be an RFC 3339"),
    ({"types": {}}, "grant types: must be a non-empty object"),
    ({"types": {"mes work": ["*"]}}, "is not a record type"),
    ({"types": {"mes.work_order": []}}, "grant types.mes.work_order: must be a non-empty list"),
    ({"types": {"mes.work_order": ["*", "qty_good"]}}, "\"*\" (every field) stands alone"),
    ({"types": {"mes.work_order": ["a", "a"]}}, "a field is listed twice"),
    ({"types": {"mes.work_order": ["a\nb"]}}, "is not a field name"),
    ({"expires": 1798675200}, "grant expires: must be an RFC 3339"),
    ({"extra": 1}, "grant extra: unknown field"),
])
def test_a_bad_grant_is_refused_naming_the_field(change, words):
    with pytest.raises(InvalidArgumentError) as e:
        check_grant({**GRANT, **change})
    assert words in str(e.value)


def test_a_missing_field_is_named():
    with pytest.raises(InvalidArgumentError, match="grant expires: missing"):
        check_grant({k: v for k, v in GRANT.items() if k != "expires"})
    with pytest.raises(InvalidArgumentError, match="grant: must be a JSON object"):
        check_grant([GRANT])


def test_a_grant_covers_its_logs_range_and_types_only():
    g = check_grant(GRANT)
    assert covers(g, LOG, 10, ORDER) and covers(g, LOG, 19, ORDER)
    assert not covers(g, LOG, 9, ORDER) and not covers(g, LOG, 20, ORDER)
    assert not covers(g, OTHER, 12, ORDER)
    assert not covers(g, LOG, 12, {**ORDER, "type": "erp.sales_order"})


def test_a_period_grant_covers_record_instants_in_any_offset():
    g = check_grant({**GRANT, "records": {"since": "2026-10-05T00:00:00Z", "until": "2026-10-06T00:00:00Z"}})
    at = lambda ts: covers(g, LOG, 0, {**ORDER, "ts": ts})  # noqa: E731
    assert at("2026-10-05T08:00:00+08:00")  # 00:00Z on the 5th: since is inclusive
    assert not at("2026-10-05T07:59:59.999+08:00")  # a millisecond before
    assert at("2026-10-05T23:59:59.999Z") and at("2026-10-06T07:59:59+08:00")
    assert not at("2026-10-06T08:00:00+08:00")  # until is exclusive
    assert not at("not a time")


def test_only_the_granted_data_fields_are_shown():
    g = check_grant(GRANT)
    assert visible_fields(g, "mes.work_order") == {"product", "qty_good"}
    assert visible_fields(g, "iot.telemetry") == ALL and visible_fields(g, "erp.sales_order") is None
    out = shown(g, ORDER)
    assert out == {"id": "wo-1", "ts": ORDER["ts"], "type": "mes.work_order", "data": {"product": "P-1", "qty_good": 42}}
    assert "12.50" not in repr(out)
    with pytest.raises(InvalidArgumentError, match="'erp.sales_order' is not granted"):
        shown(g, {**ORDER, "type": "erp.sales_order"})


def test_a_grant_expires_at_its_instant():
    g = check_grant(GRANT)
    at = exact.instant_ms("2027-01-31T00:00:00Z")
    assert not expired(g, at - 1) and expired(g, at)
