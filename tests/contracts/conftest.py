"""Contract tests on the in-process EVM (eth-tester + py-evm), from the committed artifacts.

The chain is created once per session; tests that change it use ``fresh_state`` (a snapshot
taken before the test and reverted to after it).
"""

from __future__ import annotations

import pytest

from tests.contracts.evm import Chain, new_chain


@pytest.fixture(scope="session")
def chain() -> Chain:
    return new_chain()


@pytest.fixture
def fresh_state(chain):
    """Run the test between a snapshot of the chain and a revert to it."""
    snapshot = chain.w3.testing.snapshot()
    yield
    chain.w3.testing.revert(snapshot)
