"""Contract events read in pages of blocks: nodes bound ``eth_getLogs`` by block range (and
by the size of an answer), so a reader of a long history asks one page at a time.

The one paged reader: the pledge mirror (``ledger.pledge.mirror``), the auditor's anchor
events (``ledger.audit``) and the approved lenders read through it.
"""

from __future__ import annotations

from ledger.chain.client import Chain

#: Blocks per ``eth_getLogs`` request.
EVENT_PAGE = 2000


def read_events(chain: Chain, event, from_block: int, to_block: int | None = None, *,
                page: int = EVENT_PAGE, argument_filters: dict | None = None) -> list:
    """Every log of ``event`` (a contract event, e.g. ``chain.registry.events.PledgeIssued``)
    in blocks ``from_block`` to ``to_block`` inclusive (default: the head now), in chain order,
    asked ``page`` blocks at a time. Requires ``page >= 1``; an empty range gives ``[]``."""
    if page < 1:
        raise ValueError(f"page must be at least 1 block, not {page}")
    to_block = chain.block_number() if to_block is None else to_block
    filters = {"argument_filters": argument_filters} if argument_filters else {}
    out = []
    start = from_block
    while start <= to_block:
        end = min(start + page - 1, to_block)
        out += chain.call(event.get_logs, from_block=start, to_block=end, **filters)
        start = end + 1
    return out
