"""Tables of the log store (SQLModel). The schema itself is made by Alembic migrations.

- ``logs``: one row per stream; current size and root.
- ``records``: one row per record: index, keyed id digest, leaf hash, sealed payload+salt.
- ``tiles``: stored subtree hashes (see ``ledger.tiles``) so any root or proof of any size
  is O(log n) reads.
- ``checkpoints``: (size, root) of the log after every committed append.
- ``meta``: store-wide facts (schema format, data-key check value).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, SmallInteger, Text
from sqlmodel import AutoString, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Log(SQLModel, table=True):
    __tablename__ = "logs"
    __table_args__ = (Index("ix_logs_log_id", "log_id"),)  # the API finds a log by it (migration 0011)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    stream: str = Field(max_length=200, unique=True, nullable=False)
    #: On-chain log id (bytes32), bound when the log is first anchored.
    log_id: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    factory_address: str | None = Field(default=None, max_length=42)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    #: ``dpl-record/1`` or ``dpl-record/2`` (``ledger.leaves``): how its leaves are made; set at
    #: creation, never changed (migration 0019).
    record_format: str = Field(default="dpl-record/1", sa_column=Column(
        AutoString(length=32), nullable=False, server_default="dpl-record/1"))


class Record(SQLModel, table=True):
    """On SQLite a ``WITHOUT ROWID`` table (migration 0020): the primary key is the table."""

    __tablename__ = "records"
    __table_args__ = (Index("ux_records_log_id_digest", "log_pk", "id_digest", unique=True),
                      {"sqlite_with_rowid": False})

    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), primary_key=True))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    id_digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: format || nonce || AES-256-GCM(salt || canonical bytes, compressed when smaller), or
    #: nonce || AES-256-GCM(salt || canonical bytes) in rows sealed before; see ``ledger.crypto``.
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Tile(SQLModel, table=True):
    __tablename__ = "tiles"

    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), primary_key=True))
    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"

    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), primary_key=True))
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Meta(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(nullable=False, max_length=256)


class Anchor(SQLModel, table=True):
    """One checkpoint's anchoring on one registry: its intent, transaction and state.

    The row is written *before* the transaction is sent (crash safety): on restart,
    ``pending`` rows are reconciled from the chain. One row per (registry, log, size), so a
    checkpoint is never anchored twice. States: pending -> included -> final; a reorg that
    drops the transaction moves it back to pending; ``failed`` when the registry refused it.
    When another sender's transaction anchored exactly this (size, root) first (a copy of
    ours, front-running it), the row adopts that transaction (``raw_tx`` empty: not ours to
    re-send); ``conflict`` when the registry holds another root at this size.
    """

    __tablename__ = "anchors"
    __table_args__ = (Index("ux_anchors_checkpoint", "chain_id", "registry_address", "log_pk", "size", unique=True),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), nullable=False))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    registry_address: str = Field(max_length=42, nullable=False)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(max_length=16, nullable=False)
    sender: str = Field(max_length=42, nullable=False)
    nonce: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: The signed transaction, so a dropped one can be re-broadcast unchanged (empty for an
    #: adopted transaction: another sender's).
    raw_tx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    attempts: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    block_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    error: str | None = Field(default=None, max_length=500)
    #: The chain's head when the row last became ``pending`` (a stuck anchor is pending for
    #: more than ``DPL_STUCK_AFTER_BLOCKS`` blocks).
    pending_since_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ChainTransaction(SQLModel, table=True):
    """Every transaction a keyring key signs, recorded *before* it is sent (``ledger.transactions``):
    the nonce manager allocates nonces from these rows and the node, re-broadcasts what a node
    lost, and fills a nonce nobody holds. ``genesis`` (block 0's hash) tells a chain that was
    reset from the one the row was sent to. States: ``pending`` (sent or about to be; not seen
    in a block), ``mined`` (seen in a block, status ok or reverted), ``replaced`` (another
    transaction took its nonce), ``refused`` (the node refused it: its nonce is free again)."""

    __tablename__ = "chain_transactions"
    __table_args__ = (Index("ix_chain_transactions_sender_nonce", "chain_id", "sender", "nonce"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    genesis: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sender: str = Field(max_length=42, nullable=False)
    nonce: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    #: The signed transaction, so one a node lost is re-broadcast unchanged.
    raw_tx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: What it does: the contract function (``anchor``, ``grantRole``, ``issue``, …), ``deploy``
    #: or ``gap-filler`` (a 0-value self-transfer that fills a nonce nobody holds).
    purpose: str = Field(max_length=32, nullable=False)
    state: str = Field(max_length=16, nullable=False)
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Pledge(SQLModel, table=True):
    """A mirror of one pledge on one registry, rebuilt from the chain's events (the chain is
    the source of truth; ``dpl pledge sync`` rebuilds this table). uint256 values are decimal
    strings. ``status`` is the stored one (live, released, defaulted): *lapsed* is read from
    ``lien_end`` against the chain's time."""

    __tablename__ = "pledges"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    registry_address: str = Field(primary_key=True, max_length=42)
    token_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    log_id: bytes = Field(sa_column=Column(LargeBinary, nullable=False, index=True))
    start: int = Field(sa_column=Column(BigInteger, nullable=False))
    end: int = Field(sa_column=Column(BigInteger, nullable=False))
    checkpoint_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    asset_digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    principal: str = Field(max_length=78, nullable=False)
    currency: str = Field(max_length=3, nullable=False)
    maturity: int = Field(sa_column=Column(BigInteger, nullable=False))
    lien_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    max_lien_end: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    samples: int = Field(sa_column=Column(Integer, nullable=False))
    loan_ref_digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    lender: str = Field(max_length=42, nullable=False)
    #: None in a row mirrored before terms carried covenantsDigest (migration 0016)
    covenants_digest: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    factory: str = Field(max_length=42, nullable=False)
    holder: str | None = Field(default=None, max_length=42)
    status: str = Field(max_length=16, nullable=False)
    nonce: str = Field(max_length=78, nullable=False)
    issue_block: int = Field(sa_column=Column(BigInteger, nullable=False))
    issue_tx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_block: int = Field(sa_column=Column(BigInteger, nullable=False))


class PledgeHolding(SQLModel, table=True):
    """One period a holder held a pledge on one registry, from the chain's events: since the
    issue or the transfer that gave it (block, tx) until the transfer or release that ended it
    (``ended``: ``transferred`` to ``ended_to``, or ``released``; all None while still held).
    Rebuilt with the ``pledges`` mirror; rows of a token are in chain order by ``id``."""

    __tablename__ = "pledge_holdings"
    __table_args__ = (Index("ix_pledge_holdings_holder", "chain_id", "registry_address", "holder"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    registry_address: str = Field(max_length=42, nullable=False)
    token_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    holder: str = Field(max_length=42, nullable=False)
    since_block: int = Field(sa_column=Column(BigInteger, nullable=False))
    since_tx: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    until_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    until_tx: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    ended: str | None = Field(default=None, max_length=16)
    ended_to: str | None = Field(default=None, max_length=42)


class PledgeSync(SQLModel, table=True):
    """How far the pledge mirror of a registry has read the chain: the last block and its hash
    (a different hash there later means a reorg: the mirror is rebuilt)."""

    __tablename__ = "pledge_sync"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    registry_address: str = Field(primary_key=True, max_length=42)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Party(SQLModel, table=True):
    """A party of the service: a factory, a lender, an auditor or an admin. ``address`` is its
    chain address (a factory's signing key, a lender's account); ``key_name`` names a key in
    the keyring when the party chose custody by the service (else it signs for itself)."""

    __tablename__ = "parties"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    name: str = Field(max_length=100, unique=True, nullable=False)
    role: str = Field(max_length=16, nullable=False)
    address: str | None = Field(default=None, max_length=42)
    key_name: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ApiKey(SQLModel, table=True):
    """An API key: only its SHA-256 is stored; ``prefix`` finds the row and names the key."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    party_id: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False))
    prefix: str = Field(max_length=16, unique=True, nullable=False)
    key_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class LogOwner(SQLModel, table=True):
    """Which factory party owns a log (logs made by the CLI have no owner row)."""

    __tablename__ = "log_owners"

    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), primary_key=True, autoincrement=False))
    party_id: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False, index=True))


class IdempotencyKey(SQLModel, table=True):
    """A request already answered: the same party and ``Idempotency-Key`` with the same body
    gets the same response again (a retry), a different body is refused."""

    __tablename__ = "idempotency_keys"

    party_id: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), primary_key=True, autoincrement=False))
    key: str = Field(primary_key=True, max_length=200)
    request_sha256: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Consent(SQLModel, table=True):
    """A factory's signed pledge consent handed to a lender through the service. ``document``
    is sealed (``ledger.store.consents``); the other columns are clear for the queries."""

    __tablename__ = "consents"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    factory_party: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False))
    lender: str = Field(max_length=42, nullable=False, index=True)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    token_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Disclosure(SQLModel, table=True):
    """A full disclosure a factory made to a lender: records ``[start, end)`` of a log at an
    anchored checkpoint, read from the log when the lender fetches it. ``params`` (the
    profile's tz, mapping and thresholds, JSON) is sealed (``ledger.store.disclosures``)."""

    __tablename__ = "disclosures"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), nullable=False))
    factory_party: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False))
    lender: str = Field(max_length=42, nullable=False, index=True)
    start: int = Field(sa_column=Column(BigInteger, nullable=False))
    end: int = Field(sa_column=Column(BigInteger, nullable=False))
    checkpoint_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    params: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class AuditRun(SQLModel, table=True):
    """A finished audit and its report (JSON, sealed: ``ledger.store.audit_runs``)."""

    __tablename__ = "audit_runs"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    clean: bool = Field(nullable=False)
    report: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Lock(SQLModel, table=True):
    """Named rows to lock (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL): one anchoring
    run at a time across workers."""

    __tablename__ = "locks"

    name: str = Field(primary_key=True, max_length=64)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie's token (only its SHA-256 here), the API key it signed in
    with (revoking the key ends the session) and the CSRF token its pages send back."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    api_key_id: int = Field(sa_column=Column(Integer, ForeignKey("api_keys.id"), nullable=False))
    csrf: str = Field(max_length=64, nullable=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FactorySignature(SQLModel, table=True):
    """A factory's EIP-712 signature made outside the service (its own wallet): ``register``
    (RegisterLog, size 0) or ``checkpoint`` (Checkpoint of the log at ``size`` with ``root``)."""

    __tablename__ = "factory_signatures"

    log_pk: int = Field(sa_column=Column(Integer, ForeignKey("logs.id"), primary_key=True, autoincrement=False))
    kind: str = Field(max_length=16, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class PledgeExtensionRow(SQLModel, table=True):
    """A factory's signed ``PledgeExtension`` (a ``dpl-extension/1`` document the service built
    from the verified signature), kept for the pledge's holder. One per (chain, registry,
    factory party, nonce): the registry uses a factory's nonce once."""

    __tablename__ = "pledge_extensions"
    __table_args__ = (Index("ux_pledge_extensions_nonce", "chain_id", "registry_address", "factory_party", "nonce",
                            unique=True),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    registry_address: str = Field(max_length=42, nullable=False)
    token_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    factory_party: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False))
    nonce: str = Field(max_length=78, nullable=False)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Webhook(SQLModel, table=True):
    """A party's webhook: where its events are POSTed. ``secret`` (the HMAC key the receiver
    checks signatures with) is sealed (``ledger.store.webhooks``); deleting sets ``deleted_at``
    (the delivery log keeps naming the row)."""

    __tablename__ = "webhooks"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    party_id: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False, index=True))
    url: str = Field(max_length=2048, nullable=False)
    secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: at most one per (webhook, event key), so enqueuing an event
    twice delivers it once. ``body`` (the JSON POSTed) is sealed. ``status``: ``pending``,
    ``delivered``, ``failed`` (gave up) or ``cancelled`` (webhook deleted). A worker claims a
    due row by setting ``lease_until`` (``ledger.store.webhooks``)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ux_webhook_deliveries_event", "webhook_id", "event_key", unique=True),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    delivery_id: str = Field(max_length=64, nullable=False, unique=True)
    webhook_id: int = Field(sa_column=Column(Integer, ForeignKey("webhooks.id"), nullable=False))
    party_id: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False, index=True))
    event_type: str = Field(max_length=64, nullable=False)
    event_key: str = Field(max_length=200, nullable=False)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(max_length=16, nullable=False)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    last_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    last_error: str | None = Field(default=None, max_length=500, nullable=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class CovenantWarningRow(SQLModel, table=True):
    """A broken covenant of a pledge (``ledger.covenants.CovenantWarning``, DESIGN.md §9), kept
    once per (pledge, key): re-evaluation inserts only what is absent. States: ``open`` →
    ``acknowledged`` (by the holder) → ``resolved`` (automatically, when a later window meets
    the covenant: ``evidence`` is that window, ``Met.as_json()``). ``notified`` is the last
    state the monitor's hook was told of (a crash before it was told: told on the next run)."""

    __tablename__ = "covenant_warnings"
    __table_args__ = (Index("ux_covenant_warnings_key", "chain_id", "registry_address", "token_id", "key",
                            unique=True),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    registry_address: str = Field(max_length=42, nullable=False)
    token_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    key: str = Field(max_length=200, nullable=False)
    code: str = Field(max_length=32, nullable=False)
    state: str = Field(max_length=16, nullable=False)
    window_from: int = Field(sa_column=Column(BigInteger, nullable=False))
    window_to: int = Field(sa_column=Column(BigInteger, nullable=False))
    week: str | None = Field(default=None, max_length=10)
    checkpoint_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    checkpoint_root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    anchor_tx: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    value: str = Field(max_length=100, nullable=False)
    threshold: str = Field(max_length=100, nullable=False)
    message: str = Field(sa_column=Column(Text, nullable=False))
    #: The window that resolved it (``Met.as_json()`` as JSON text), None until resolved.
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notified: str | None = Field(default=None, max_length=16)
    acknowledged_by: str | None = Field(default=None, max_length=42)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class CovenantEvaluation(SQLModel, table=True):
    """Where the monitor last judged a pledge's covenants: the anchored checkpoint size
    (written in the same transaction as the warnings it raised)."""

    __tablename__ = "covenant_evaluations"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    registry_address: str = Field(primary_key=True, max_length=42)
    token_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    checkpoint_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    evaluated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Grant(SQLModel, table=True):
    """A data-access grant (``dpl-grant/1``) a factory gave a lender: the checked grant document
    is sealed (``ledger.store.grants``); its digest and the lender stay clear for lookups."""

    __tablename__ = "grants"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    factory_party: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False))
    lender: str = Field(max_length=42, nullable=False, index=True)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Application(SQLModel, table=True):
    """A loan application (``dpl-application/1``) a factory made to a lender: the checked document
    is sealed (``ledger.store.applications``); the state and the links (its first grant, the kept
    consent, the pledge token) stay clear for lookups."""

    __tablename__ = "applications"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    factory_party: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False, index=True))
    lender: str = Field(max_length=42, nullable=False, index=True)
    state: str = Field(max_length=32, nullable=False)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    digest: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    grant_id: int = Field(sa_column=Column(Integer, ForeignKey("grants.id"), nullable=False))
    consent_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("consents.id"), nullable=True))
    token_id: str | None = Field(default=None, max_length=80, nullable=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ApplicationEvent(SQLModel, table=True):
    """One step of an application: when, by which party, which move, the state it reached, and
    the step's document (a decision, a grant id, a consent id) sealed."""

    __tablename__ = "application_events"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    application_id: int = Field(
        sa_column=Column(Integer, ForeignKey("applications.id"), nullable=False, index=True))
    party: int = Field(sa_column=Column(Integer, ForeignKey("parties.id"), nullable=False))
    action: str = Field(max_length=32, nullable=False)
    state: str = Field(max_length=32, nullable=False)
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
