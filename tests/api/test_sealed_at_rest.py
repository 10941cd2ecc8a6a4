"""What the service keeps of consents and audits reaches the database sealed: the API reads
them back, the database (SQLite file, PostgreSQL rows) shows no loan reference, manifest or
report."""

from __future__ import annotations

from sqlalchemy import text


def _stored(world) -> bytes:
    engine = world.client.app.state.services.store.engine
    with engine.connect() as conn:
        rows = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                        for table in ("consents", "audit_runs")
                        for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row if v is not None)
    if world.backend == "sqlite":
        for name in ("ledger.db", "ledger.db-wal"):
            if (world.home / name).exists():
                rows += (world.home / name).read_bytes()
    return rows


def test_consents_and_audit_reports_are_sealed_in_the_database(world):
    terms = world.terms()
    consent_id = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": terms})["consent_id"]
    [mine] = [c for c in world.ok("GET", "/v1/pledges/consents", "bank-a") if c["consent_id"] == consent_id]
    assert mine["consent"]["loan_ref"] == terms["loan_ref"] and mine["token_id"] is None
    sums = [str(f["sum"]) for t in mine["consent"]["manifest"]["types"].values() for f in t["fields"].values()]
    manifest_sum = max(sums, key=len)  # long enough not to turn up in random bytes by chance
    assert len(manifest_sum) >= 6, sums
    report = world.ok("POST", "/v1/audit", "aud")
    assert world.ok("GET", "/v1/audit/latest", "aud")["findings"] == report["findings"]

    stored = _stored(world)
    for secret in (terms["loan_ref"], '"manifest"', '"asset_digest"', '"anchor_events"', manifest_sum):
        assert secret.encode() not in stored, secret
