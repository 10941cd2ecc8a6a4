"""What the endpoints answer: one response model per answer, so ``/docs`` describes it.

The models are strict and closed (``Out``): an answer that does not match its model exactly
(a missing or extra key, a number where text was promised) is our bug and fails loudly,
instead of a field silently coerced, dropped or added as null. Format documents the ledger
builds (consents, typed data, manifests) stay ``dict``: their own readers check them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Document = dict[str, Any]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


# --- logs, records, proofs ----------------------------------------------------------------------


class LogOut(BaseModel):
    log_id: str | None = Field(description="On-chain log id, keccak256(abi.encode(factory, stream)), 0x-hex")
    stream: str
    size: int
    root: str
    factory: str | None = None
    format: str = Field(default="dpl-record/1",
                        description="The log's record format, dpl-record/1 or dpl-record/2 (docs/RECORDS.md), fixed at creation")


class AppendOut(BaseModel):
    appended: int
    duplicates: int
    size: int
    root: str


class CheckpointRef(Out):
    size: int
    root: str = Field(description="0x-hex Merkle root")


class AnchorRef(Out):
    chain_id: int
    registry: str
    tx_hash: str
    block_number: int | None


class ProofEntry(Out):
    index: int
    record: Document = Field(description="The record as ingested: id, ts, type, data")
    salt: str
    leaf_hash: str
    proof: list[str] = Field(description="Inclusion proof, 0x-hex hashes leaf to root")


class ProofBundle(Out):
    """A ``dpl-proof/1`` bundle: verify it with ``dpl verify`` or the browser verifier."""

    format: str
    log_id: str | None
    stream: str
    checkpoint: CheckpointRef
    anchor: AnchorRef | None
    entries: list[ProofEntry]


class InclusionOut(Out):
    log_id: str | None
    index: int
    size: int
    root: str
    leaf_hash: str
    proof: list[str]


class ConsistencyBundle(Out):
    """A ``dpl-consistency/1`` bundle."""

    format: str
    log_id: str | None
    stream: str
    old: CheckpointRef
    new: CheckpointRef
    proof: list[str]


class LeavesOut(Out):
    start: int
    size: int = Field(description="The log's size now")
    leaf_hashes: list[str]


class CheckpointAnchor(Out):
    state: str = Field(description="pending, included, final, conflict, …")
    tx_hash: str
    block_number: int | None
    chain_id: int
    registry: str


class CheckpointOut(Out):
    size: int
    root: str
    anchor: CheckpointAnchor | None


class ActivityDay(Out):
    day: str = Field(description="UTC day, YYYY-MM-DD")
    counts: dict[str, int] = Field(description="Records per type")


class ActivityOut(Out):
    start: int = Field(alias="from")
    end: int = Field(alias="to")
    types: list[str]
    days: list[ActivityDay]


class CheckpointToSign(Out):
    size: int
    root: str
    factory: str
    checkpoint: Document = Field(description="EIP-712 typed data of the Checkpoint")
    # ("register" itself would shadow BaseModel.register)
    register_log: Document | None = Field(alias="register",
                                          description="EIP-712 typed data of RegisterLog, until the log is registered")


class SignaturesKept(Out):
    size: int
    root: str
    register_log: bool = Field(alias="register", description="A RegisterLog signature was kept too")


class AnchorReportOut(Out):
    stream: str
    size: int
    state: str
    tx_hash: str | None
    block_number: int | None
    note: str


# --- assets, consents, pledges ------------------------------------------------------------------


class AssetOut(Out):
    asset_digest: str
    manifest: Document


class ConsentDraft(Out):
    typed_data: Document = Field(description="EIP-712 typed data to sign (eth_signTypedData_v4)")
    consent: Document = Field(description="The dpl-consent/2 document, its signature null")


class ConsentKept(Out):
    consent_id: int
    consent: Document


class ConsentListed(Out):
    consent_id: int
    token_id: int | None
    lender_party: str | None
    consent: Document


class ExtensionListed(Out):
    extension_id: int
    token_id: int
    used: bool
    expired: bool
    extension: Document


class ExtensionDraft(Out):
    typed_data: Document
    extension: Document


class ExtensionKept(Out):
    extension_id: int
    extension: Document


class PledgeListed(Out):
    token_id: int
    status: str
    holder: str | None
    log_id: str
    start: int = Field(alias="from")
    end: int = Field(alias="to")
    checkpoint_size: int
    samples: int
    asset_digest: str
    principal: str = Field(description="Minor units (decimal: up to 2^256 - 1)")
    currency: str
    maturity: int
    lien_end: int
    max_lien_end: int | None = Field(description="None in a mirror row kept before max lien ends existed")
    factory: str
    loan_ref_digest: str
    issue_block: int
    covenants_digest: str | None = Field(None, description="SHA-256 of the agreed dpl-covenants/1 set (zero: none); "
                                                           "None in a mirror row kept before pledges carried it")
    stream: str | None
    holder_party: str | None
    factory_party: str | None
    held: bool | None = Field(None, description="A lender's list: false for a pledge it held before and holds "
                                                "no longer (transferred or released); None for other roles")
    ended: str | None = Field(None, description="How the caller's holding ended: transferred or released")
    ended_to: str | None = Field(None, description="The lender it was transferred to")
    ended_to_party: str | None = None
    ended_block: int | None = Field(None, description="The block of the transfer or release")
    ended_tx: str | None = Field(None, description="The transaction of the transfer or release")


class PledgeTermsOut(Out):
    log_id: str
    start: int = Field(alias="from")
    end: int = Field(alias="to")
    checkpoint_size: int
    asset_digest: str
    principal: str
    currency: str
    maturity: int
    maturity_utc: str
    lien_end: int
    lien_end_utc: str
    max_lien_end: int
    max_lien_end_utc: str
    samples: int
    loan_ref_digest: str
    lender: str
    covenants_digest: str = Field(description="SHA-256 of the dpl-covenants/1 set agreed with the loan; zero: none")


class PledgeOut(Out):
    token_id: int
    status: str
    holder: str | None
    log_id: str
    start: int = Field(alias="from")
    end: int = Field(alias="to")
    asset_digest: str
    factory: str
    issue_block: int
    terms: PledgeTermsOut


class IssueBlock(Out):
    block_number: int
    block_hash: str


class CollateralBundle(Out):
    """A ``dpl-collateral/1`` bundle: the manifest and the sampled records with their proofs."""

    format: str
    token_id: int
    chain_id: int
    registry: str
    issue: IssueBlock
    seed: str
    manifest: Document
    entries: list[ProofEntry]


class Issued(Out):
    token_id: int
    tx_hash: str
    block_number: int


class Moved(Out):
    token_id: int
    tx_hash: str


# --- parties, keys, lenders, audits, health -----------------------------------------------------


class PartyOut(Out):
    name: str
    role: str
    address: str | None
    custodial: bool = Field(description="The service holds this party's chain key")


class NewKey(Out):
    party: str
    key: str = Field(description="The API key: shown once, only its hash is kept")
    prefix: str


class KeyOut(Out):
    prefix: str
    party: str
    created_at: str | None
    revoked_at: str | None


class LenderOut(Out):
    address: str
    approved: bool
    tx_hash: str | None = Field(description="None when the registry already had it so")


class AuditReport(Out):
    chain_id: int
    registry: str
    logs: int
    records: int
    anchor_events: int
    pledges: int
    clean: bool
    findings: list[str]


class LatestAudit(BaseModel):
    """The report as it was kept (a report kept by an older version may lack a field, and the
    route answers only the fields it has), with the time it ran."""

    model_config = ConfigDict(extra="allow")
    chain_id: int | None = None
    registry: str | None = None
    logs: int | None = None
    records: int | None = None
    anchor_events: int | None = None
    pledges: int | None = None
    clean: bool
    findings: list[str]
    ran_at: str | None


class Health(Out):
    status: str = Field(description="ok or degraded")
    database: Document = Field(description="ok, and the backend or the error")
    chain: Document = Field(description="ok, and chain_id, latest_block, registry or the error")
    anchoring: Document = Field(description="logs_behind; stuck and conflicting anchors; with an "
                                             "anchoring loop: interval_s, last_error, and leader (whether "
                                             "this process is the anchoring leader)")


class ListingOut(BaseModel):
    address: str
    listed: bool
    name: str | None = Field(description="As stored on chain (text from the chain: escape it before printing)")
    registration_digest: str | None
    tx_hash: str | None = None


# --- profiles and disclosures (docs/PROFILE.md) -------------------------------------------------


class RangeOut(Out):
    start: int = Field(alias="from")
    end: int = Field(alias="to")


class ProfileDoc(Out):
    """A ``dpl-profile/1`` (docs/PROFILE.md §4); sections are format documents."""

    format: str = Field(description="dpl-profile/1")
    log_id: str
    stream: str
    range: RangeOut
    checkpoint: Document = Field(description="size and root of the anchored checkpoint")
    tz: str
    mapping: Document | None
    thresholds: Document
    coverage: Document
    mes: Document | None
    iot: Document | None
    sales: Document | None
    cross_source: Document | None
    daily: list[Document]
    weekly: list[Document]
    trend: Document
    flags: list[Document]


class DisclosureOut(Out):
    id: int
    stream: str
    log_id: str
    lender: str = Field(description="The lender's address")
    range: RangeOut
    checkpoint_size: int
    tz: str = Field(description="The offset of the factory's profile of the range")
    created_at: str
    revoked_at: str | None


class DisclosureDoc(Out):
    """A ``dpl-disclosure/1`` (docs/PROFILE.md §7), streamed."""

    format: str = Field(description="dpl-disclosure/1")
    log_id: str
    stream: str
    range: RangeOut
    checkpoint: Document
    anchor: Document | None
    proof: Document = Field(description="left and right: the hashes of the range proof")
    records: list[Document] = Field(description="index, salt and record of every record of the range")


# --- covenant warnings (docs/COVENANTS.md §4, DESIGN.md §9) ----------------------------------------


class WarningCheckpointOut(Out):
    size: int
    root: str
    anchor_tx: str | None = Field(description="The transaction that anchored the checkpoint, 0x-hex")


class WarningOut(Out):
    """A covenant warning: DESIGN.md §9's JSON with the stored state, plus its id and key, the
    anchoring transaction, and the window that resolved it (``evidence``)."""

    id: int
    token_id: int
    key: str = Field(description="Unique per pledge: code/week, stoppage/machine/start, anchoring_cadence/size")
    code: str
    state: str = Field(description="open, acknowledged (by the holder) or resolved (automatically)")
    window: RangeOut = Field(description="Record indices [from, to) the warning is about")
    week: str | None
    checkpoint: WarningCheckpointOut
    value: str
    threshold: str
    message: str
    evidence: dict | None = Field(description="The window that met the covenant again ({code, window, week, "
                                              "machine}), once resolved")
    created_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None


class WarningCounts(Out):
    open: int
    acknowledged: int
    resolved: int


class PledgeWarningsOut(Out):
    token_id: int
    counts: WarningCounts
    warnings: list[WarningOut] | None = Field(description="The warnings (the holder, the log's factory); null for "
                                                          "an auditor, who sees the counts")


# --- webhooks -------------------------------------------------------------------------------------


class WebhookOut(Out):
    id: int
    url: str
    created_at: str
    secret: str | None = Field(default=None, description="The secret the service made; shown once, at creation")


class WebhookDeliveryOut(Out):
    id: str = Field(description="The delivery id (DPL-Delivery-Id): the same on every retry")
    webhook_id: int
    event_type: str
    event_key: str
    status: str = Field(description="pending, delivered, failed (gave up after a day) or cancelled (webhook deleted)")
    attempts: int
    next_attempt_at: str | None = Field(description="When a pending delivery is tried next")
    last_status: int | None = Field(description="The receiver's last HTTP status (none: it could not be reached)")
    last_error: str | None
    created_at: str
    delivered_at: str | None
