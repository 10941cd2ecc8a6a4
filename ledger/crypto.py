"""Confidentiality of stored records: the data key, sealing, and keyed id digests.

A record's salt and canonical bytes are sealed with AES-256-GCM; the associated data
binds the ciphertext to the record's leaf hash, so a sealed payload moved to another
row no longer opens. Other documents the service keeps (consents, audit reports) are
sealed the same way with associated data that names their table and row
(``seal_document``). Record ids are stored only as keyed BLAKE2b digests (lookups work,
ids stay private). A copy of the database alone therefore shows hashes, sizes and stream
names, nothing of the records.

A sealed record is ``format || nonce || AES-256-GCM(salt || body)``, the format byte also in
the associated data (``dpl-record/1 || format || leaf``): ``0x01``, the body is the canonical
bytes; ``0x02``, they compressed with zstd and the fixed dictionary ``RECORD_DICTIONARY_1``
(written whenever that is smaller). Rows sealed before the format byte existed, ``nonce ||
AES-256-GCM(salt || canonical)`` with associated data ``dpl-record/1 || leaf``, still open: a
row that does not open as a formatted one is opened as one of those. Compressing before
encrypting makes the sealed length depend on how much the content resembles the dictionary,
not only on its length; what that reveals and why it is acceptable: docs/ARCHITECTURE.md,
"Sealing".

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
import threading
from pathlib import Path

import zstandard
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
SEALED_ZSTD_1 = 0x02
_FORMATS = (SEALED_PLAIN, SEALED_ZSTD_1)
_OPEN_FAILED = "a stored record does not open with the data key from {source}: wrong key, or the row was altered"

#: The zstd dictionary of ``SEALED_ZSTD_1`` (2,048 bytes): trained once
#: (``zstandard.train_dictionary(2048, records, level=3)``, zstandard 0.25.0) on the canonical
#: bytes of the bundled demo month, ``ledger/samples/factory-month.jsonl`` (3,495 records: readings,
#: work orders and sales orders, the record types of docs/PROFILE.md), so it holds their key names in
#: sorted order, typical values and the entropy tables of such records. FROZEN: every row
#: compressed with it must open forever (tests/ledger/test_crypto.py pins its digest); a better
#: dictionary is a new format byte, never an edit.
RECORD_DICTIONARY_1 = base64.b64decode(
    "N6Qw7Cvu/00nEMiSJB3///////9/bCz0W4QRauiDcvNcA6/oF9lSSimlTBcK6j+WUwgAAAAAioaFCwAABMCBwYHCwoHDAUhJ"
    "BMPJS0kCRnFgXBwIIUEEAQyAMZArCQwEAAAA1AkFxwirShAAgwwAAAAAAAAAAAABAAAABAAAAAgAAABzY3JhcCI6Miwic3Rh"
    "cnRlZCI6IjIwMjYtMTAtMDNUMDc6MzA6MDAuMDAwKzA4OjAwImhpbmUiOiJjbmMtMDEiLCJwYXJ0c190b3RhbCI6MjAxMDQs"
    "InBvd2VyX2t3IjoxNi4yNCwic3BpbmRsZV9ycG0iOjE1MzIsInN0YXRlIjoicnVubmluZyIsInRlbXBfYyI6NjEuNDQsInZp"
    "YnJhdGlvbl9tbV9zIjoxLjQ2OX0sImlkIjoidGVsLWNuYy0wMS0wMDAwMDEyMDYiLCJ0cyI6IjIwMjYtMTAtMTNUMTM6MzA6"
    "MDAuMDAwKzA4OjAwIiwidHlwZSI6ImlvdC50ZWxlbWV0cnkifXsiZGF0YSI6eyJhbW91bnRfbWlub3IiOjE4NDQyNzAsImN1"
    "cnJlbmN5IjoiQ05ZIiwiY3VzdG9tZXIiOiJDLTIwMTMiLCJkdWVfZGF5cyI6OTAsImxpbmVzIjpbeyJxdHkiOjQzMCwic2t1"
    "IjoiSFNHLTExOCIsInVuaXRfcHJpY2VfbWlub3IiOjQyODl9XX0sImlkIjoiU08tMjAyNi0wMDAzMSIsInRzIjoiMjAyNi0x"
    "MC0xM1QxMzozODozMS43NjYrMDg6MDAiLCJ0eXBlIjoiZXJwLnNhbGVzX29yZGVyIn17ImRhdGEiOnsibWFjaGluZSI6ImNu"
    "Yy0wMiIsInBhcnRzX3RvdGFsIjo5MzQ2NywicG93ZXJfa3ciOjEwLjk5LCJzcGluZGxlX3JwbSI6MTQwNywic3RhdGUiOiJy"
    "dW5uaW5nIiwidGVtcF9jIjo2Ny41NywidmlicmF0aW9uX21tX3MiOjIuNTcyfSwiaWQiOiJ0ZWwtY25jLTAyLTAwMDAwMTIw"
    "NyIsInRzIjoiMjAyNi0xMC0xM1QxMzo0NTowMC4wMDArMDg6MDAiLCJ0eXBlIjoiaW90LnRlbGVtZXRyeSJ9eyJkYXRhIjp7"
    "Im1hY2hpbmUiOiJwcmVzcy0wNyIsInBhcnRzX3RvdGFsIjo3NDUzMSwicG93ZXJfa3ciOjkuMTYsInNwaW5kbGVfcnBtIjox"
    "NDY0LCJzdGF0ZSI6InJ1bm5pbmciLCJ0ZW1wX2MiOjc1Ljk5LCJ2aWJyYXRpb25fbW1fcyI6Mi4xNX0sImlkIjoidGVsLXBy"
    "ZXNzLTA3LTAwMDAwMTIwOCIsInRzIjoiMjAyNi0xMC0xM1QxNDowMDowMC4wMDArMDg6MDAiLCJ0eXBlIjoiaW90LnRlbGVt"
    "ZXRyeSJ9eyJkYXRhIjp7Im1hY2hpbmUiOiJwcmVzcy0wOCIsInBhcnRzX3RvdGFsIjo3OTk3MSwicG93ZXJfa3ciOjE1LjY5"
    "LCJzcGluZGxlX3JwbSI6MTQzNiwic3RhdGUiOiJydW5uaW5nIiwidGVtcF9jIjo3MS4yNCwidmlicmF0aW9uX21tX3MiOjIu"
    "MjY5fSwiaWQiOiJ0ZWwtcHJlc3MtMDgtMDAwMDAxMjA5IiwidHMiOiIyMDI2LTEwLTEzVDE0OjE1OjAwLjAwMCswODowMCIs"
    "InR5cGUiOiJpb3QudGVsZW1ldHJ5In17ImRhdGEiOnsibWFjaGluZSI6Im1vbGQtMDMiLCJwYXJ0c190b3RhbCI6Mzc3Mzks"
    "InBvd2VyX2t3IjoxMi43LCJzcGluZGxlX3JwbSI6MTUyNywic3RhdGUiOiJydW5uaW5nIiwidGVtcF9jIjo2OC42OSwidmli"
    "cmF0aW9uX21tX3MiOjMuMTExfSwiaWQiOiJ0ZWwtbW9sZC0wMy0wMDAwMDEyMTAiLCJ0cyI6IjIwMjYtMTAtMTNUMTQ6MzA6"
    "MDAuMDAwKzA4OjAwIiwidHlwZSI6ImlvdC50ZWxlbWV0cnkifXsiZGF0YSI6eyJsaW5lIjoibGluZS1iIiwibWFjaGluZSI6"
    "Im1vbGQtMDMiLCJwcm9kdWN0IjoiSFNHLTExOCIsInByb2R1Y3RfbmFtZSI6InB1bXAgaG91c2luZyIsInF0eV9nb29kIjox"
    "ODEsInF0eV9wbGFubmVkIjoyMDAsInF0eV9zY3JhcCI6NSwic3RhcnRlZCI6IjIwMjYtMTAtMTNUMDc6MDA6MDAuMDAwKzA4"
    "OjAwIn0sImlkIjoiV08tMjAyNi0wMDIyMyIsInRzIjoiMjAyNi0xMC0xM1QxNDozMzo0Ny4wMDArMDg6MDAiLCJ0eXBlIjoi"
    "bWVzLndvcmtfb3JkZXIifXsiZGF0YSI6eyJtYWNoaW5lIjoid2VsZC0xMSIsInBhcnRzX3RvdGFsIjoyMDMyMywicG93ZXJf"
    "a3ciOjE0LjYyLCJzcGluZGxlX3JwbSI6MTQ2MCwic3RhdGUiOiJydW5uaW5nIiwidGVtcF9jIjo3MC4wMiwidmlicmF0aW9u"
    "X21tX3MiOjEuNjMyfSwiaWQiOiJ0ZWwtd2VsZC0xMS0wMDAwMDEyMTEiLCJ0cyI6IjIwMjYtMTAtMTNUMTQ6NDU6MDAuMDAw"
    "KzA4OjAwIiwidHlwZSI6ImlvdC50ZWxlbWV0cnkifXs="
)
_ZSTD_LEVEL = 3  # changes only the output's size and time, never what opens
_ZSTD_DICT = zstandard.ZstdCompressionDict(RECORD_DICTIONARY_1)
_ZSTD_DICT.precompute_compress(level=_ZSTD_LEVEL)
# Frames without magic number, checksum (GCM authenticates), content size or dictionary id.
_ZSTD_PARAMS = zstandard.ZstdCompressionParameters.from_level(
    _ZSTD_LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=0, write_content_size=0, write_dict_id=0)
# zstd contexts are not for concurrent use: one compressor and decompressor per thread.
_ZSTD = threading.local()


def _compress(canonical: bytes) -> bytes:
    try:
        cctx = _ZSTD.cctx
    except AttributeError:
        cctx = _ZSTD.cctx = zstandard.ZstdCompressor(compression_params=_ZSTD_PARAMS, dict_data=_ZSTD_DICT)
    return cctx.compress(canonical)


def _decompress(packed: bytes) -> bytes:
    try:
        dctx = _ZSTD.dctx
    except AttributeError:
        dctx = _ZSTD.dctx = zstandard.ZstdDecompressor(dict_data=_ZSTD_DICT, format=zstandard.FORMAT_ZSTD1_MAGICLESS)
    d = dctx.decompressobj()
    try:
        out = d.decompress(packed)
    except zstandard.ZstdError:
        out = None
    if out is None or not d.eof or d.unused_data:  # authenticated, so only a bug writes this
        raise InvariantError("a stored record opened but its compressed body is not a valid zstd frame")
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

    __slots__ = ("_aead", "_id_hasher", "_note_seed", "check_value", "source")

    def __init__(self, master: bytes, source: str):
        if len(master) != 32:
            raise DataKeyError("the data key must be 32 bytes")
        self._aead = AESGCM(_derive(master, b"seal"))
        # Keyed BLAKE2b, keyed once: each digest copies this state (no per-call key block).
        self._id_hasher = hashlib.blake2b(key=_derive(master, b"record-id"), digest_size=16)
        #: Public fingerprint stored in the database; reveals nothing of the key.
        self.check_value = _derive(master, b"check").hex()[:32]
        self._note_seed = _derive(master, b"tlog-note-key")
        #: Where the key came from (an env var name or a file path), for error messages.
        self.source = source

    def note_seed(self) -> bytes:
        """The Ed25519 seed of the log's checkpoint note key (``ledger.service.publish``): derived,
        never stored, so it is as secret as the data key and the same on every process."""
        return self._note_seed

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
        the canonical bytes compressed (``SEALED_ZSTD_1``) when that is smaller, else as
        they are (``SEALED_PLAIN``)."""
        canonical = salt_and_canonical[SALT_SIZE:]
        packed = _compress(canonical)
        if len(packed) < len(canonical):
            fmt, plain = SEALED_ZSTD_1, b"".join((salt_and_canonical[:SALT_SIZE], packed))  # any bytes-like
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
                return plain[:SALT_SIZE], _decompress(body) if fmt == SEALED_ZSTD_1 else body
        try:  # a row sealed before formats existed: nonce || AES-256-GCM(salt || canonical)
            plain = self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _AAD_PREFIX + leaf)
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise DataKeyError(_OPEN_FAILED.format(source=self.source)) from None
        return plain[:SALT_SIZE], plain[SALT_SIZE:]
