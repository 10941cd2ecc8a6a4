"""The service sends every transaction through the nonce manager: each custodial key's mined
nonces are exactly the transactions the service recorded (the world's registry was deployed
by the test fixture with a bare client, so dev0's nonce 0 is the one unrecorded)."""

from __future__ import annotations

from ledger.chain.client import Chain
from ledger.store.transactions import MINED, PENDING


def test_every_transaction_the_service_sends_is_recorded(world):
    world.pledge()  # a custodial lender issues (bank-a, dev2): one more recorded transaction
    journal = world.client.app.state.services.chain().journal
    chain = Chain(world.rpc_url)
    for key, first in (("dev0", 1), ("dev2", 0)):
        address = world.keyring.info(key).address
        rows = journal.store.for_sender(chain.chain_id, chain.genesis_hash, address)
        mined = chain.call(chain.w3.eth.get_transaction_count, address, "latest")
        assert sorted(r.nonce for r in rows if r.state in (MINED, PENDING)) == list(range(first, mined)), key
    purposes = {r.purpose for r in journal.store.for_sender(chain.chain_id, chain.genesis_hash,
                                                             world.keyring.info("dev0").address)}
    assert {"grantRole", "registerLog", "anchor"} <= purposes
