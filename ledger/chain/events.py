"""Contract events read in pages of blocks: nodes bound ``eth_getLogs`` by block range (and
by the size of an answer), so a reader of a long history asks one page at a time.

The one paged reader: the pledge mirror (``ledger.pledge.mirror``), the auditor's anchor
events (``ledger.audit``), the approved lenders, the factory directory's listing, and the
anchorer's search for the transaction that anchored a checkpoint (newest first, stopping at
the first match) read through it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ledger.chain.client import Chain

#: Blocks per ``eth_getLogs`` request.
EVENT_PAGE = 2000


def iter_events(chain: Chain, event, from_block: int, to_block: int | None = None, *,
                page: int = EVENT_PAGE, argument_filters: dict | None = None,
                newest_first: bool = False) -> Iterator:
    """Every log of ``event`` (a contract event, e.g. ``chain.registry.events.PledgeIssued``)
    in blocks ``from_block`` to ``to_block`` inclusive (default: the head now), asked ``page``
    blocks at a time, lazily: a page is asked only when the one before is used up, so a reader
    that stops early asks no more. In chain order, or with ``newest_first`` the reverse (pages
    from ``to_block`` down, each page's logs last first). Requires ``page >= 1``; an empty
    range yields nothing and asks nothing."""
    if page < 1:
        raise ValueError(f"page must be at least 1 block, not {page}")
    to_block = chain.block_number() if to_block is None else to_block
    filters = {"argument_filters": argument_filters} if argument_filters else {}
    if newest_first:
        end = to_block
        while end >= from_block:
            start = max(from_block, end - page + 1)
            yield from reversed(chain.call(event.get_logs, from_block=start, to_block=end, **filters))
            end = start - 1
        return
    start = from_block
    while start <= to_block:
        end = min(start + page - 1, to_block)
        yield from chain.call(event.get_logs, from_block=start, to_block=end, **filters)
        start = end + 1


def read_events(chain: Chain, event, from_block: int, to_block: int | None = None, *,
                page: int = EVENT_PAGE, argument_filters: dict | None = None, newest_first: bool = False) -> list:
    """``iter_events`` read whole, as a list."""
    return list(iter_events(chain, event, from_block, to_block, page=page, argument_filters=argument_filters,
                            newest_first=newest_first))
