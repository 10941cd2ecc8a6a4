"""Confidentiality of stored records: the data key, sealing, and keyed id digests.

A record's salt and canonical bytes are sealed with AES-256-GCM; the associated data
binds the ciphertext to the record's leaf hash, so a sealed payload moved to another
row no longer opens. Other documents the service keeps (consents, audit reports) are
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
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.errors import DataKeyError

KEY_FILE_NAME = "data.key"
NONCE_SIZE = 12
SALT_SIZE = 32
_AAD_PREFIX = b"dpl-record/1"


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
        """``nonce || AES-256-GCM(salt || canonical)``, bound to ``leaf``."""
        return nonce + self._aead.encrypt(nonce, salt_and_canonical, _AAD_PREFIX + leaf)

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
        """(salt, canonical bytes) of a sealed record. ``DataKeyError`` if it does not open."""
        try:
            plain = self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _AAD_PREFIX + leaf)
        except InvalidTag:
            raise DataKeyError(
                f"a stored record does not open with the data key from {self.source}: "
                "wrong key, or the row was altered"
            ) from None
        return plain[:SALT_SIZE], plain[SALT_SIZE:]
