"""The applications tables (SQLite and PostgreSQL): documents and steps sealed (the database shows
none of their words), bound to their rows; a move passes only from the state it expects, with its
event in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.crypto import DataKey, parse_key_text
from ledger.errors import DataKeyError
from ledger.settings import Settings
from ledger.store.applications import ApplicationStore
from ledger.store.grants import GrantStore
from ledger.store.logstore import LogStore
from ledger.store.parties import PartyStore

LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
PURPOSE = b"secret_purpose_3d9a"
REASON = b"secret_reason_81fe"


@pytest.fixture
def apps(backend):
    store = LogStore.open(Settings(home=backend.home, database_url=backend.database_url, data_key="11" * 32))
    parties = PartyStore(store.engine)
    acme = parties.create("acme", "factory", None, None).id
    bank = parties.create("bank", "lender", LENDER, None).id
    grant = GrantStore(store.engine, store.key).add(acme, LENDER, b"{}", b"\x00" * 32)
    yield store, acme, bank, grant, ApplicationStore(store.engine, store.key)
    store.close()


def test_applications_and_steps_are_sealed_and_moves_expect_their_state(apps):
    store, acme, bank, grant, a = apps
    app_id = a.add(acme, LENDER, b'{"purpose":"' + PURPOSE + b'"}', b"\x01" * 32, grant, b'{"grant_id":1}')
    assert a.move(app_id, "submitted", "declined", bank, "decline", b'{"text":"' + REASON + b'"}') is True
    # a second move from the state the caller saw before: nothing written
    assert a.move(app_id, "submitted", "approved", bank, "approve", b"{}") is False
    got = a.get(app_id)
    assert got.state == "declined" and got.document == b'{"purpose":"' + PURPOSE + b'"}' and got.grant_id == grant
    assert [(e.action, e.state, e.party) for e in a.events(app_id)] == [("submit", "submitted", acme),
                                                                        ("decline", "declined", bank)]
    assert a.events(app_id)[1].document == b'{"text":"' + REASON + b'"}'
    assert a.events(app_id)[0].at <= a.events(app_id)[1].at
    with store.engine.connect() as conn:
        raw = b"".join(bytes(r[0]) for r in conn.execute(text("SELECT document FROM applications")))
        raw += b"".join(bytes(r[0]) for r in conn.execute(text("SELECT document FROM application_events")))
    assert PURPOSE not in raw and REASON not in raw
    assert [r.id for r in a.list(lender=LENDER)] == [app_id] and a.list(factory_party=bank) == []


def test_links_are_kept_and_a_document_opens_only_in_its_row(apps):
    store, acme, bank, grant, a = apps
    first = a.add(acme, LENDER, b'{"n":1}', b"\x01" * 32, grant, b"{}")
    second = a.add(acme, LENDER, b'{"n":2}', b"\x02" * 32, grant, b"{}")
    assert a.move(first, "submitted", "consented", acme, "consent", b"{}", consent_id=None, token_id=2**200)
    assert a.get(first).token_id == 2**200  # a uint256 token id survives
    with pytest.raises(DataKeyError, match="application 1 does not open"):
        ApplicationStore(store.engine, DataKey(parse_key_text("22" * 32), "test")).list()
    with store.engine.begin() as conn:
        sealed = bytes(conn.execute(text("SELECT document FROM applications WHERE id = :i"), {"i": first}).scalar())
        conn.execute(text("UPDATE applications SET document = :d WHERE id = :i"), {"d": sealed, "i": second})
    with pytest.raises(DataKeyError, match=f"application {second} does not open"):
        a.get(second)
    with store.engine.begin() as conn:
        ev = bytes(conn.execute(text("SELECT document FROM application_events ORDER BY id LIMIT 1")).scalar())
        conn.execute(text("UPDATE application_events SET document = :d WHERE application_id = :i"),
                     {"d": ev, "i": second})
    with pytest.raises(DataKeyError, match="does not open"):
        a.events(second)


def test_two_moves_at_once_one_passes(apps):
    """Eight threads each try to move the same submitted application (approve or decline): exactly
    one passes, and exactly one event follows the submission."""
    import threading

    store, acme, bank, grant, a = apps
    app_id = a.add(acme, LENDER, b"{}", b"\x01" * 32, grant, b"{}")
    results, start = [], threading.Barrier(8)

    def attempt(n: int) -> None:
        start.wait()
        target = "approved" if n % 2 else "declined"
        results.append((target, a.move(app_id, "submitted", target, bank, target[:-1], b"{}")))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8 and sum(ok for _, ok in results) == 1
    [won] = [target for target, ok in results if ok]
    assert a.get(app_id).state == won and [e.state for e in a.events(app_id)] == ["submitted", won]
