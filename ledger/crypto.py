"""Confidentiality of stored records: the data key, sealing, and keyed id digests.

A record's salt and canonical bytes are sealed with AES-256-GCM; the associated data
binds the ciphertext to the record's leaf hash, so a sealed payload moved to another
row no longer opens. A sealed record is ``format || nonce || AES-256-GCM(salt || body)``
with the format byte in the associated data (``dpl-record/1 || format || leaf``):
``0x01``: body = the canonical bytes; ``0x02``: body = the canonical bytes compressed with raw
DEFLATE and the fixed preset dictionary ``RECORD_DICTIONARY_1`` (written only when smaller).
Rows sealed before the format byte existed (``nonce || AES-256-GCM(salt || canonical)``,
associated data ``dpl-record/1 || leaf``) still open: a row that does not open as a
formatted one is opened as one of those. Compression before encryption lets a record's
sealed length depend on its content's redundancy, not only on its length; what that reveals
and why it is acceptable is in docs/ARCHITECTURE.md ("Sealed records"). Other documents the service keeps (consents, audit reports) are
sealed the same way with associated data that names their table and row
(``seal_document``). Record ids are stored only as keyed BLAKE2b digests (lookups work,
ids stay private). A copy of the database alone therefore shows hashes, sizes and stream
names, nothing of the records.

The 32-byte master key comes from ``DPL_DATA_KEY`` (base64 or hex) or from
``DPL_HOME/data.key``, created on first use with mode 0600. Sub-keys are derived with
HKDF-SHA256, one per purpose; a check value derived the same way is stored in the
database so a wrong key is refused up front, before anything is written with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import zlib
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.errors import DataKeyError, InvariantError

KEY_FILE_NAME = "data.key"
NONCE_SIZE = 12
SALT_SIZE = 32
TAG_SIZE = 16
_AAD_PREFIX = b"dpl-record/1"

#: Bytes of the format prefix of a sealed record (bench/bench_store_size.py reads it).
RECORD_FORMAT_BYTES = 1
#: Sealed record formats (the first byte; also in the associated data).
SEALED_PLAIN = 0x01
SEALED_DEFLATE_1 = 0x02

#: The preset dictionary of ``SEALED_DEFLATE_1``: what production records share. Common values
#: first, then the first sales order, work order and eight readings of the bundled demo month
#: (``ledger/samples/factory-month.jsonl``) as their canonical bytes: the record types of
#: docs/PROFILE.md, their key names in sorted order, typical values, the most frequent type
#: (telemetry) last, nearest the data. DEFLATE finds matches in it as if it preceded each
#: record. FROZEN: every row compressed with it must open forever (tests/ledger/test_crypto.py
#: pins its digest); a better dictionary is a new format byte, never an edit.
RECORD_DICTIONARY_1 = (
    b'"state":"idle","state":"setup","state":"alarm","state":"stopped","currency":"USD","ts":"2026-01-01T00:00:00.000Z"'
    b'{"data":{"amount_minor":2516400,"currency":"CNY","customer":"C-1077","due_days":30,"lines":[{"qty":600,"sku":"HSG-118","unit_price_minor":4194}]},"id":"SO-2026-00001","ts":"2026-10-01T08:43:46.162+08:00","type":"erp.sales_order"}'
    b'{"data":{"line":"line-a","machine":"press-07","product":"BRK-220","product_name":"brake bracket","qty_good":256,"qty_planned":250,"qty_scrap":4,"started":"2026-10-01T00:30:00.000+08:00"},"id":"WO-2026-00001","ts":"2026-10-01T06:31:29.000+08:00","type":"mes.work_order"}'
    b'{"data":{"machine":"cnc-01","parts_total":15489,"power_kw":9.6,"spindle_rpm":1551,"state":"running","temp_c":68.62,"vibration_mm_s":1.675},"id":"tel-cnc-01-000000000","ts":"2026-10-01T00:00:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"cnc-02","parts_total":88045,"power_kw":13.93,"spindle_rpm":1541,"state":"running","temp_c":64.89,"vibration_mm_s":2.328},"id":"tel-cnc-02-000000001","ts":"2026-10-01T00:15:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"press-07","parts_total":61925,"power_kw":16.98,"spindle_rpm":1596,"state":"running","temp_c":67.63,"vibration_mm_s":2.422},"id":"tel-press-07-000000002","ts":"2026-10-01T00:30:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"press-08","parts_total":69374,"power_kw":10.02,"spindle_rpm":1413,"state":"running","temp_c":66.9,"vibration_mm_s":1.818},"id":"tel-press-08-000000003","ts":"2026-10-01T00:45:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"mold-03","parts_total":30643,"power_kw":18.31,"spindle_rpm":1422,"state":"running","temp_c":68.57,"vibration_mm_s":1.732},"id":"tel-mold-03-000000004","ts":"2026-10-01T01:00:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"weld-11","parts_total":11966,"power_kw":9.14,"spindle_rpm":1519,"state":"running","temp_c":67.84,"vibration_mm_s":2.114},"id":"tel-weld-11-000000005","ts":"2026-10-01T01:15:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"cnc-01","parts_total":15514,"power_kw":13.25,"spindle_rpm":1564,"state":"running","temp_c":72.6,"vibration_mm_s":1.752},"id":"tel-cnc-01-000000006","ts":"2026-10-01T01:30:00.000+08:00","type":"iot.telemetry"}'
    b'{"data":{"machine":"cnc-02","parts_total":88075,"power_kw":9,"spindle_rpm":1447,"state":"running","temp_c":68.8,"vibration_mm_s":2.198},"id":"tel-cnc-02-000000007","ts":"2026-10-01T01:45:00.000+08:00","type":"iot.telemetry"}'
)
_WBITS = -12  # raw DEFLATE (GCM authenticates; no zlib header or checksum), a 4 KiB window
# Each record's compressor is a copy of one primed with the dictionary (copying is cheaper than
# hashing the dictionary again); the parameters change only the output's size, never what opens.
_COMPRESSOR = zlib.compressobj(9, zlib.DEFLATED, _WBITS, 4, zlib.Z_DEFAULT_STRATEGY, RECORD_DICTIONARY_1)
_FORMATS = (SEALED_PLAIN, SEALED_DEFLATE_1)
_OPEN_FAILED = "a stored record does not open with the data key from {source}: wrong key, or the row was altered"


def _compress(canonical: bytes) -> bytes:
    c = _COMPRESSOR.copy()
    return c.compress(canonical) + c.flush()


def _decompress(packed: bytes) -> bytes:
    d = zlib.decompressobj(-15, RECORD_DICTIONARY_1)  # any window up to DEFLATE's 32 KiB
    try:
        out = d.decompress(packed)
    except zlib.error:
        out = None
    if out is None or not d.eof or d.unused_data:  # authenticated, so only a bug writes this
        raise InvariantError("a stored record opened but its compressed body is not valid DEFLATE")
    return out


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dpl/" + purpose).derive(master)


def parse_key_text(text: str) -> bytes:
    """32 key bytes from base64 (standard or URL-safe) or hex text."""
    text = text.strip()
    candidates = []
    if len(text) == 64:
        try:
            candidates.append(bytes.fromhex(text))
        except ValueError:
            pass
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            candidates.append(decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            pass
    for key in candidates:
        if len(key) == 32:
            return key
    raise DataKeyError("the data key must be 32 bytes, written as base64 or hex")


def _create_key_file(home: Path, path: Path) -> None:
    """Write a new random key to ``path`` (0600), atomically: a concurrent reader sees no
    file or the whole key, and if two processes race, the first link wins."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: holds the key
    tmp = home / f".{KEY_FILE_NAME}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first; we read theirs
    finally:
        tmp.unlink(missing_ok=True)


class DataKey:
    """The master data key and what is derived from it. Never printed, never logged."""

    __slots__ = ("_aead", "_id_hasher", "check_value", "source")

    def __init__(self, master: bytes, source: str):
        if len(master) != 32:
            raise DataKeyError("the data key must be 32 bytes")
        self._aead = AESGCM(_derive(master, b"seal"))
        # Keyed BLAKE2b, keyed once: each digest copies this state (no per-call key block).
        self._id_hasher = hashlib.blake2b(key=_derive(master, b"record-id"), digest_size=16)
        #: Public fingerprint stored in the database; reveals nothing of the key.
        self.check_value = _derive(master, b"check").hex()[:32]
        #: Where the key came from (an env var name or a file path), for error messages.
        self.source = source

    def __repr__(self) -> str:
        return f"DataKey(source={self.source!r}, check={self.check_value[:8]}…)"

    @classmethod
    def load(cls, env_value: str | None, home: Path) -> DataKey:
        """From ``DPL_DATA_KEY`` when set, else from (or newly into) ``home/data.key``."""
        if env_value:
            return cls(parse_key_text(env_value), "DPL_DATA_KEY")
        path = home / KEY_FILE_NAME
        if not path.exists():
            _create_key_file(home, path)
        try:
            text = path.read_text()
        except OSError as e:
            raise DataKeyError(f"cannot read the data key file {path}: {e.strerror}") from None
        return cls(parse_key_text(text), str(path))

    def id_digest(self, record_id: str) -> bytes:
        """Keyed 16-byte digest of a record id: the only form of the id the database holds."""
        h = self._id_hasher.copy()
        h.update(record_id.encode("utf-8"))
        return h.digest()

    def seal(self, leaf: bytes, salt_and_canonical: bytes, nonce: bytes) -> bytes:
        """``format || nonce || AES-256-GCM(salt || body)``, bound to ``leaf`` and the format:
        the canonical bytes compressed (``SEALED_DEFLATE_1``) when that is smaller, else as
        they are (``SEALED_PLAIN``)."""
        canonical = salt_and_canonical[SALT_SIZE:]
        packed = _compress(canonical)
        if len(packed) < len(canonical):
            fmt, plain = SEALED_DEFLATE_1, salt_and_canonical[:SALT_SIZE] + packed
        else:
            fmt, plain = SEALED_PLAIN, salt_and_canonical
        head = fmt.to_bytes(1, "big")
        return head + nonce + self._aead.encrypt(nonce, plain, _AAD_PREFIX + head + leaf)

    def seal_document(self, associated: bytes, plain: bytes) -> bytes:
        """``nonce || AES-256-GCM(plain)`` bound to ``associated`` (which must name the table
        and the row, so that the sealed value opens nowhere else)."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plain, associated)

    def open_document(self, associated: bytes, sealed: bytes, what: str) -> bytes:
        """The plain bytes of ``seal_document``. ``DataKeyError`` naming ``what`` if they do not
        open (another key, another row, or altered)."""
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], associated)
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise DataKeyError(
                f"{what} does not open with the data key from {self.source}: wrong key, or the row was "
                "altered or copied from another row"
            ) from None

    def open(self, leaf: bytes, sealed: bytes) -> tuple[bytes, bytes]:
        """(salt, canonical bytes) of a sealed record, in either format or sealed before formats
        existed. ``DataKeyError`` if it does not open (wrong key, altered, or another row's)."""
        fmt = sealed[0] if sealed else None
        if fmt in _FORMATS and len(sealed) >= RECORD_FORMAT_BYTES + NONCE_SIZE + TAG_SIZE + SALT_SIZE:
            start = RECORD_FORMAT_BYTES + NONCE_SIZE
            try:
                plain = self._aead.decrypt(sealed[1:start], sealed[start:], _AAD_PREFIX + sealed[:1] + leaf)
            except InvalidTag:
                plain = None  # altered, or a row sealed before formats whose nonce began with this byte
            if plain is not None:
                body = plain[SALT_SIZE:]
                return plain[:SALT_SIZE], _decompress(body) if fmt == SEALED_DEFLATE_1 else body
        try:  # a row sealed before formats existed: nonce || AES-256-GCM(salt || canonical)
            plain = self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _AAD_PREFIX + leaf)
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise DataKeyError(_OPEN_FAILED.format(source=self.source)) from None
        return plain[:SALT_SIZE], plain[SALT_SIZE:]
