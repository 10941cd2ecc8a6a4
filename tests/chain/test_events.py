"""ledger.chain.events: one paged event reader, on a real anvil with more events than one page."""

from __future__ import annotations

import socket

import pytest
from eth_account import Account

from ledger.chain import node
from ledger.chain.client import Chain
from ledger.chain.deploy import deploy_registry
from ledger.chain.events import EVENT_PAGE, iter_events, read_events
from ledger.keys import ANVIL_MNEMONIC

pytestmark = pytest.mark.anvil


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chain(tmp_path):
    """A fresh anvil with the registry deployed; ``get_logs`` requests are counted in ``chain.pages``."""
    home = tmp_path / "home"
    info = node.up(home, port=_free_port())
    try:
        Account.enable_unaudited_hdwallet_features()
        admin = Account.from_mnemonic(ANVIL_MNEMONIC, account_path="m/44'/60'/0'/0/0")
        c = Chain(info.rpc_url)
        record, _ = deploy_registry(c, home, admin)
        c.use_registry(record["address"])
        c.admin, c.deployed_at, c.pages = admin, record["block_number"], []
        call = c.call

        def counting(fn, *args, **kwargs):
            if getattr(fn, "__name__", "") == "get_logs":
                c.pages.append((kwargs["from_block"], kwargs["to_block"]))
            return call(fn, *args, **kwargs)

        c.call = counting
        yield c
    finally:
        node.down(home)


def _grant(chain: Chain, n: int, gap: int = 0) -> list[str]:
    """Approve ``n`` new lenders, one block each, ``gap`` empty blocks after each."""
    role = chain.registry.functions.LENDER_ROLE().call()
    out = []
    for i in range(n):
        lender = Account.create().address
        chain.transact(chain.admin, chain.registry.functions.grantRole(role, lender))
        out.append(lender)
        if gap:
            node.rpc_call(chain.rpc_url, "anvil_mine", [hex(gap)], timeout=120)
    return out


def test_events_beyond_one_page_are_all_read_in_chain_order_one_page_per_request(chain):
    lenders = _grant(chain, 7, gap=1)
    event, role = chain.registry.events.RoleGranted, chain.registry.functions.LENDER_ROLE().call()
    head = chain.block_number()
    whole = chain.registry.events.RoleGranted.get_logs(from_block=chain.deployed_at, to_block=head)  # unpaged truth
    chain.pages.clear()
    paged = read_events(chain, event, chain.deployed_at, head, page=3)
    assert [(e["blockNumber"], e["logIndex"]) for e in paged] == [(e["blockNumber"], e["logIndex"]) for e in whole]
    assert len(paged) == 8  # the deployer's admin role, then the seven lenders
    spans = [(a, b) for a, b in chain.pages]
    assert spans[0][0] == chain.deployed_at and spans[-1][1] == head
    assert all(b - a + 1 <= 3 for a, b in spans) and len(spans) == -(-(head - chain.deployed_at + 1) // 3)
    assert all(spans[i][1] + 1 == spans[i + 1][0] for i in range(len(spans) - 1))  # no block skipped or read twice
    filtered = read_events(chain, event, chain.deployed_at, head, page=3, argument_filters={"role": role})
    assert [e["args"]["account"] for e in filtered] == lenders


def test_the_default_page_splits_a_long_history_and_the_users_see_every_event(chain):
    """Two grants 2,100 blocks apart: two requests of at most EVENT_PAGE blocks; the approved
    lenders (ledger.pledge.chain) and the auditor's reader use the same pages."""
    from ledger.pledge.chain import approved_lenders

    first = _grant(chain, 1, gap=2100)
    second = _grant(chain, 1)
    head = chain.block_number()
    chain.pages.clear()
    assert approved_lenders(chain, chain.deployed_at) == first + second
    assert len(chain.pages) == -(-(head - chain.deployed_at + 1) // EVENT_PAGE) == 2
    assert read_events(chain, chain.registry.events.RoleGranted, head + 1, head) == []  # an empty range asks nothing
    assert len(chain.pages) == 2
    with pytest.raises(ValueError):
        read_events(chain, chain.registry.events.RoleGranted, 0, head, page=0)


def test_newest_first_walks_the_pages_down_and_stops_asking_when_the_reader_stops(chain):
    """The anchorer looks for the transaction that anchored a checkpoint newest first and stops
    at the first match (``Anchorer._anchoring_event``): the pages go from the head down, each
    page's logs last first, and a page is asked only when the reader wants more."""
    lenders = _grant(chain, 7, gap=1)
    event, role = chain.registry.events.RoleGranted, chain.registry.functions.LENDER_ROLE().call()
    head = chain.block_number()
    oldest_first = read_events(chain, event, chain.deployed_at, head, page=3)
    chain.pages.clear()
    newest = read_events(chain, event, chain.deployed_at, head, page=3, newest_first=True)
    assert [(e["blockNumber"], e["logIndex"]) for e in newest] == [
        (e["blockNumber"], e["logIndex"]) for e in reversed(oldest_first)]
    spans = list(chain.pages)
    assert spans[0][1] == head and spans[-1][0] == chain.deployed_at
    assert all(b - a + 1 <= 3 for a, b in spans)
    assert all(spans[i][0] - 1 == spans[i + 1][1] for i in range(len(spans) - 1))  # no block skipped or read twice
    filtered = read_events(chain, event, chain.deployed_at, head, page=3, argument_filters={"role": role},
                           newest_first=True)
    assert [e["args"]["account"] for e in filtered] == lenders[::-1]

    chain.pages.clear()  # the newest lender's grant is in the head's page: one request, however long the history
    first = next(iter_events(chain, event, chain.deployed_at, head, page=3, newest_first=True))
    assert first["args"]["account"] == lenders[-1] and len(chain.pages) == 1
    chain.pages.clear()
    assert list(iter_events(chain, event, head + 1, head, newest_first=True)) == [] and chain.pages == []
