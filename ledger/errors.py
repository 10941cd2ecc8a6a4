"""One error tree for the whole ledger.

Every error a caller can cause is a `LedgerError`; most also subclass a builtin so
plain `except ValueError` keeps working (the web3.py pattern). The API maps this
tree to HTTP in one table; the CLI prints `str(error)` and exits non-zero.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose."""


class InvalidArgumentError(LedgerError, ValueError):
    """The caller broke a documented precondition (a bad index, size or name)."""


class InvariantError(LedgerError, AssertionError):
    """Our own bug: an internal invariant does not hold. Never the caller's fault."""


class ProofError(LedgerError, ValueError):
    """A Merkle proof, root or bundle failed verification."""


class RootMismatchError(ProofError):
    """The root a proof leads to is not the root it was checked against."""

    def __init__(self, expected: bytes, calculated: bytes, what: str = "root"):
        self.expected = expected
        self.calculated = calculated
        super().__init__(
            f"{what} mismatch: calculated 0x{calculated.hex()}, expected 0x{expected.hex()}"
        )


class RecordError(LedgerError, ValueError):
    """A production record is malformed. Names the record and the field."""

    def __init__(
        self,
        position: int | None,
        record_id: str | None,
        field: str | None,
        reason: str,
        *,
        unit: str = "record",
    ):
        self.position = position
        self.record_id = record_id
        self.field = field
        self.reason = reason
        self.unit = unit
        where = f"{unit} {position}" if position is not None else "record"
        if record_id is not None:
            where += f" (id {record_id!r})"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class ConflictError(LedgerError):
    """A request contradicts what is stored (same record id, different content)."""


class AnchoringBusyError(ConflictError):
    """Another process holds the anchoring lock (``ledger.store.locks``) right now: nothing was
    anchored by this call; the holder anchors every log, and a retry in a moment may run."""

    def __init__(self, message: str = "another worker is anchoring right now; retry in a moment"):
        super().__init__(message)


class ForbiddenError(LedgerError):
    """The caller may not do this (a revoked or expired disclosure, another party's thing it
    knows of)."""


class NotFoundError(LedgerError, LookupError):
    """The named log, record or checkpoint does not exist."""


class DataKeyError(LedgerError):
    """The data key is missing, malformed, or not the key this database was sealed with."""


class StoreError(LedgerError):
    """The database cannot take the request now; nothing of it was stored. ``retry_after``:
    seconds after which the same request may succeed (None: waiting alone will not help)."""

    retry_after: int | None = None


class StoreBusyError(StoreError):
    """Another writer held the database for longer than the busy timeout."""

    retry_after = 5


class StoreFullError(StoreError):
    """The disk (or the database's size limit) is full."""


class BundleError(ProofError):
    """A proof bundle is malformed or does not verify."""


class ChainError(LedgerError):
    """The chain cannot be reached, or refused what we sent."""


class ChainUnavailableError(ChainError):
    """No Ethereum node answers at the configured RPC URL."""


class NonceGapError(ChainError):
    """A sender's transactions wait behind a nonce that no transaction holds on the node, and
    the gap could not be filled (so nothing more is sent behind it)."""


class ContractRevertError(ChainError):
    """A contract call reverted; ``name`` and ``args`` are the decoded custom error. ``during``
    says where, when it was a mined transaction (``transaction 0x… reverted in block N``)."""

    def __init__(self, name: str, args: tuple, meaning: str = "", *, during: str = ""):
        self.name = name
        self.args_ = args
        self.meaning = meaning
        shown = ", ".join(str(a) for a in args)
        super().__init__((f"{during}: " if during else "") + f"the registry refused: {name}({shown})"
                         + (f": {meaning}" if meaning else ""))
