"""Which leaf a record makes: the record formats a log may use (docs/RECORDS.md "Using it").

A log chooses its record format when it is created and keeps it:

- ``dpl-record/1`` (DESIGN.md section 2): leaf data ``salt || canonical_bytes``;
- ``dpl-record/2`` (``ledger.record2``): leaf data built from per-field salted commitments, the
  field salts derived from the same one 32-byte record salt.

Every place that computes or rebuilds a leaf from a record and its salt (ingest, the store's
unsealing, proof bundles, disclosures, collateral samples, the audit) asks ``leaf_hash_of`` with
the log's format, so a v2 log is never checked with v1's rule or the other way round. Pure.

Bundles and disclosures of a v2 log name the format (``record_format``); absent, it is
``dpl-record/1``, which every bundle written before formats existed is. Naming it in the bundle
is safe: the data of a v1 leaf has ``{`` (0x7B) at byte 32, the data of a v2 leaf 0x02, so no
leaf hash has an opening in both formats (short of a SHA-256 collision); a forger who names the
other format only gets another leaf hash, which the inclusion proof then refuses.
"""

from __future__ import annotations

from ledger import merkle, record2
from ledger.errors import BundleError, InvalidArgumentError

RECORD_V1 = "dpl-record/1"
RECORD_V2 = record2.FORMAT
RECORD_FORMATS = (RECORD_V1, RECORD_V2)
#: The key naming the record format in a bundle or disclosure (``format`` names the document's own).
BUNDLE_KEY = "record_format"


def check_record_format(value: object) -> str:
    """``value`` if it names a record format a log may use (``InvalidArgumentError`` otherwise)."""
    if value not in RECORD_FORMATS:
        raise InvalidArgumentError(
            f"unknown record format {value!r} (a log's format is {RECORD_V1!r} or {RECORD_V2!r})"
        )
    return value  # type: ignore[return-value]


def leaf_hash_of(record_format: str, salt: bytes, canonical: bytes) -> bytes:
    """The leaf hash of a record in a log of ``record_format``, from its record salt and its
    canonical bytes (as stored, or as ``records.prepare_record`` made them: already valid)."""
    if record_format == RECORD_V1:
        return merkle.leaf_hash(salt + canonical)
    if record_format == RECORD_V2:
        return merkle.leaf_hash(record2.leaf_data_v2_from_canonical(canonical, salt))
    raise InvalidArgumentError(f"unknown record format {record_format!r}")


def bundle_record_format(doc: dict) -> str:
    """The record format a bundle or disclosure names (``record_format``; absent: v1).
    ``BundleError`` for any other value."""
    value = doc.get(BUNDLE_KEY, RECORD_V1)
    if value not in RECORD_FORMATS:
        raise BundleError(f"{BUNDLE_KEY} must be {RECORD_V1!r} or {RECORD_V2!r}, not {value!r}")
    return value


def bundle_field(record_format: str) -> dict:
    """What a writer adds to a bundle or disclosure of a log of ``record_format``: nothing for
    v1 (its bundles stay as they always were), ``{"record_format": "dpl-record/2"}`` otherwise."""
    return {} if record_format == RECORD_V1 else {BUNDLE_KEY: record_format}
