"""C2SP transparency-log formats: ``tlog-tiles`` paths and tiles, ``tlog-checkpoint`` notes,
``signed-note`` Ed25519 signatures, and proofs built from tiles fetched from anywhere.

Pure: no store, no network. ``ledger.service.publish`` writes a log's checkpoint and tiles
with these rules; ``dpl verify --tiles`` and the browser's ``verify/tiles.js`` read them back.

- **Tiles** (c2sp.org/tlog-tiles): the tile at level ``L``, index ``N`` is served at
  ``tile/<L>/<N>`` (full: 256 hashes, 8,192 bytes) or ``tile/<L>/<N>.p/<W>`` (partial: W
  hashes, 1 <= W <= 255); ``N`` is written in 3-digit path elements, all but the last
  prefixed with ``x`` (1234067 -> ``x001/x234/067``). A C2SP tile is the first ``W`` hashes
  of our stored tile (``ledger.tiles``: a stored tile keeps its inner levels after them).
- **Checkpoint** (c2sp.org/tlog-checkpoint): the note text ``<origin>\\n<size>\\n<base64
  root>\\n``. The **origin** of a log is ``data-pledge-ledger/<chain id>/<log id hex>``
  (``origin_of``): it names the on-chain log, so another log's checkpoint cannot pass as
  this log's, and its root is the one the registry holds for that log id at that size.
- **Signed note** (c2sp.org/signed-note): Ed25519, key name = the origin (as tlog-checkpoint
  recommends), key ID ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``, verifier key
  ``<name>+<hex key ID>+<base64(0x01 || public key)>``.
- **Entry bundles** (``tile/entries/…``) are not part of this module's output: records are
  confidential; a verifier holds the leaf hash of its record from its ``dpl-proof/1`` bundle.

The proofs (``TileReader``) reuse ``ledger.tiles`` and ``ledger.merkle``: a fetched level-0
tile is rebuilt into a stored tile (``tiles.build_tile``) and read as the store reads it, so
a proof from tiles equals the service's byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ledger import merkle, tiles
from ledger.errors import BundleError, InvalidArgumentError

TILE_WIDTH = tiles.TILE_WIDTH
HASH_SIZE = merkle.HASH_SIZE
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
#: The deepest tile level C2SP allows (``<L>`` is 0..63).
MAX_LEVEL = 63
#: The prefix of every origin this ledger signs (``origin_of``).
ORIGIN_PREFIX = "data-pledge-ledger"
#: A checkpoint note larger than this is refused before parsing (C2SP asks for >= 16 signatures).
MAX_NOTE_BYTES = 16 * 1024
ED25519 = 0x01
_EM_DASH = "\u2014"

# --- tile paths ------------------------------------------------------------------------


def index_path(index: int) -> str:
    """``N`` as C2SP writes it: 3-digit elements, all but the last prefixed with ``x``."""
    if not isinstance(index, int) or index < 0:
        raise InvalidArgumentError(f"a tile index must be a non-negative integer, got {index!r}")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    parts = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{p}" for p in parts[:-1]] + [parts[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>`` for a full tile, ``tile/<L>/<N>.p/<W>`` for a partial one."""
    if not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        raise InvalidArgumentError(f"a tile level must be 0..{MAX_LEVEL}, got {level!r}")
    if not isinstance(width, int) or not 1 <= width <= TILE_WIDTH:
        raise InvalidArgumentError(f"a tile width must be 1..{TILE_WIDTH}, got {width!r}")
    path = f"tile/{level}/{index_path(index)}"
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


_TILE_PATH = re.compile(r"tile/(0|[1-9][0-9]?)/((?:x[0-9]{3}/)*)([0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


def parse_tile_path(path: str) -> tuple[int, int, int]:
    """``(level, index, width)`` of a tile path; ``InvalidArgumentError`` if it is not one."""
    m = _TILE_PATH.fullmatch(path)
    if not m or int(m[1]) > MAX_LEVEL or (m[4] and int(m[4]) >= TILE_WIDTH):
        raise InvalidArgumentError(f"{path!r} is not a C2SP tile path")
    elements = m[2].split("/")[:-1]
    if elements and elements[0] == "x000":  # a leading zero element: the index has another path
        raise InvalidArgumentError(f"{path!r} is not a C2SP tile path")
    index = int("".join(e[1:] for e in elements) + m[3])
    return int(m[1]), index, int(m[4]) if m[4] else TILE_WIDTH


def tile_width_at(level: int, index: int, size: int) -> int:
    """How many hashes tile (``level``, ``index``) holds in a tree of ``size`` leaves (0: none)."""
    count = size >> (tiles.TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def tiles_of(size: int) -> Iterator[tuple[int, int, int]]:
    """Every tile ``(level, index, width)`` of a tree of ``size`` leaves, level by level."""
    level = 0
    while (count := size >> (tiles.TILE_HEIGHT * level)) > 0:
        full, rest = divmod(count, TILE_WIDTH)
        for index in range(full):
            yield level, index, TILE_WIDTH
        if rest:
            yield level, full, rest
        level += 1


def c2sp_tile(stored: bytes, width: int) -> bytes:
    """The C2SP tile of ``width`` hashes from a stored tile (its level-0 hashes come first)."""
    if tiles.tile_width(stored) < width:
        raise InvalidArgumentError(f"the stored tile holds {max(tiles.tile_width(stored), 0)} hashes, "
                                   f"not the {width} the tree needs")
    return stored[:width * HASH_SIZE]


# --- checkpoints and signed notes ------------------------------------------------------


def origin_of(chain_id: int, log_id: bytes) -> str:
    """The checkpoint origin (and note key name) of the log ``log_id`` on chain ``chain_id``."""
    if len(log_id) != 32:
        raise InvalidArgumentError("a log id is 32 bytes")
    return f"{ORIGIN_PREFIX}/{chain_id}/{log_id.hex()}"


_ORIGIN = re.compile(re.escape(ORIGIN_PREFIX) + r"/(0|[1-9][0-9]{0,19})/([0-9a-f]{64})")


def parse_origin(origin: str) -> tuple[int, bytes]:
    """``(chain id, log id)`` named by one of our origins; ``BundleError`` for any other."""
    m = _ORIGIN.fullmatch(origin)
    if not m:
        raise BundleError(f"checkpoint origin {origin!r} is not a data-pledge-ledger log "
                          f"({ORIGIN_PREFIX}/<chain id>/<64 hex digits of the log id>)")
    return int(m[1]), bytes.fromhex(m[2])


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def checkpoint_text(cp: Checkpoint) -> bytes:
    """The note text of a checkpoint: origin, decimal size, base64 root, extension lines."""
    for line in (cp.origin, *cp.extensions):
        if not line or "\n" in line:
            raise InvalidArgumentError("checkpoint lines must be non-empty single lines")
    if len(cp.root) != HASH_SIZE or cp.size < 0:
        raise InvalidArgumentError("a checkpoint needs a size >= 0 and a 32-byte root")
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root).decode(), *cp.extensions]
    return ("\n".join(lines) + "\n").encode()


_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


def parse_checkpoint(text: bytes) -> Checkpoint:
    """A checkpoint from its (verified) note text; ``BundleError`` naming what is wrong."""
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise BundleError("the checkpoint is not UTF-8") from None
    if len(lines) < 4 or lines[-1] != "" or any(line == "" for line in lines[:-1]):
        raise BundleError("the checkpoint is not origin, size and root on non-empty lines")
    origin, size, root, *extensions = lines[:-1]
    if not _SIZE.fullmatch(size):
        raise BundleError(f"the checkpoint's size {size!r} is not a decimal number")
    try:
        raw = base64.b64decode(root, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != root:
        raise BundleError(f"the checkpoint's root {root!r} is not the base64 of 32 bytes")
    return Checkpoint(origin, int(size), raw, tuple(extensions))


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 note key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise InvalidArgumentError(f"a note key name must be non-empty, without spaces or '+': {name!r}")


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key_id: bytes
    public: bytes

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"


def parse_vkey(vkey: str) -> NoteVerifier:
    """A verifier key ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
    parts = vkey.strip().split("+", 2)  # base64 may hold "+"
    if len(parts) != 3:
        raise BundleError("a note verifier key is <name>+<key id>+<key>")
    name, hex_id, b64 = parts
    try:
        _check_key_name(name)
        kid = bytes.fromhex(hex_id) if re.fullmatch(r"[0-9a-f]{8}", hex_id) else b""
        raw = base64.b64decode(b64, validate=True)
    except (InvalidArgumentError, binascii.Error, ValueError):
        raise BundleError("the note verifier key is not <name>+<8 hex digits>+<base64>") from None
    if len(kid) != 4 or len(raw) != 33 or raw[0] != ED25519:
        raise BundleError("the note verifier key is not an Ed25519 key (<name>+<8 hex digits>+<base64 of 33 bytes>)")
    if key_id(name, raw[1:]) != kid:
        raise BundleError("the note verifier key's id does not match its name and key")
    return NoteVerifier(name, kid, raw[1:])


class NoteSigner:
    """An Ed25519 note key: ``seed`` is the 32-byte private seed (keep it secret)."""

    def __init__(self, name: str, seed: bytes):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        _check_key_name(name)
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = NoteVerifier(name, key_id(name, public), public)

    def sign(self, text: bytes) -> bytes:
        """The signed note: ``text`` (ending in a newline), a blank line, one signature line."""
        if not text.endswith(b"\n"):
            raise InvalidArgumentError("a note's text ends with a newline")
        sig = base64.b64encode(self.verifier.key_id + self._key.sign(text)).decode()
        return text + f"\n{_EM_DASH} {self.verifier.name} {sig}\n".encode()


def split_note(note: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A signed note's text and its signatures ``(key name, key ID || signature)``, unverified
    (``open_note`` verifies); ``BundleError`` if it is not a signed note."""
    if len(note) > MAX_NOTE_BYTES:
        raise BundleError(f"the signed note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError("the signed note is not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise BundleError("the signed note holds control characters")
    cut = decoded.rfind("\n\n")
    if cut < 0 or not decoded.endswith("\n"):
        raise BundleError("the signed note has no signature block (a blank line, then signature lines)")
    text, lines = decoded[:cut + 1], decoded[cut + 2:-1].split("\n")
    signatures = []
    for line in lines:
        m = re.fullmatch(_EM_DASH + r" (\S+) ([A-Za-z0-9+/=]+)", line)
        try:
            raw = base64.b64decode(m[2], validate=True) if m else b""
        except binascii.Error:
            raw = b""
        if len(raw) < 5:
            raise BundleError(f"malformed signature line {line[:80]!r} in the signed note")
        signatures.append((m[1], raw))
    return text.encode(), signatures


def open_note(note: bytes, verifier: NoteVerifier) -> bytes:
    """The text of ``note`` once a signature by ``verifier``'s key verifies; else ``BundleError``.

    Signatures of other keys are ignored (C2SP signed-note); a note with none of this key, or
    whose signature by it fails, is refused."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text, signatures = split_note(note)
    found = False
    for name, raw in signatures:
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue  # another key's signature: ignored
        try:
            Ed25519PublicKey.from_public_bytes(verifier.public).verify(raw[4:], text)
        except InvalidSignature:
            raise BundleError(f"the signature by {verifier.name} does not verify: the note was altered "
                              "or signed by another key") from None
        found = True
    if not found:
        raise BundleError(f"the signed note carries no signature by the key {verifier.name}+"
                          f"{verifier.key_id.hex()}")
    return text


# --- proofs from tiles -------------------------------------------------------------------

#: ``fetch(path)`` -> the bytes at ``path`` (e.g. ``tile/0/000``) under the log's prefix.
Fetch = Callable[[str], bytes]


class TileReader:
    """Hashes, roots and proofs of a log from its published tiles at ``size`` (the size of the
    checkpoint they were published for): any range, root or proof within it. Every tile a
    result needs is fetched once, its length checked, its hash checked against its parent tile
    when it is full, and rebuilt as the store keeps it. Check ``root()`` against the checkpoint
    first: the root is made of the partial tiles every full tile hashes up to."""

    def __init__(self, size: int, fetch: Fetch):
        self.size = size
        self._fetch = fetch
        self._tiles: dict[tiles.TileKey, bytes] = {}
        self.fetched: list[str] = []

    def _load(self, keys: set[tiles.TileKey]) -> None:
        """Fetch the tiles of ``keys`` not fetched yet and, for each full one, its parent tile
        (level + 1), up to partial tiles: a full tile must hash to its entry in its parent, so
        every tile is tied to the partial tiles the root is made of (``root``)."""
        full = []
        todo = keys - self._tiles.keys()
        while todo:
            parents = set()
            for level, index in sorted(todo):
                width = tile_width_at(level, index, self.size)
                path = tile_path(level, index, width)
                data = self._fetch(path)
                self.fetched.append(path)
                if len(data) != width * HASH_SIZE:
                    raise BundleError(f"tile {path} is {len(data)} bytes, not {width} hashes "
                                      f"({width * HASH_SIZE} bytes)")
                self._tiles[(level, index)] = tiles.build_tile(data)
                if width == TILE_WIDTH:
                    full.append((level, index))
                    parents.add((level + 1, index >> tiles.TILE_HEIGHT))
            todo = parents - self._tiles.keys()
        for level, index in full:
            parent = self._tiles[(level + 1, index >> tiles.TILE_HEIGHT)]
            at = (index & (TILE_WIDTH - 1)) * HASH_SIZE
            if tiles.tile_root(self._tiles[(level, index)]) != parent[at:at + HASH_SIZE]:
                raise BundleError(f"tile {tile_path(level, index)} does not hash to its entry in tile "
                                  f"{tile_path(level + 1, index >> tiles.TILE_HEIGHT, tile_width_at(level + 1, index >> tiles.TILE_HEIGHT, self.size))}: "
                                  "a tile was altered")

    def hashes(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """Tree hashes of leaf ranges (as ``merkle.*_ranges`` give them) within ``size``."""
        if any(not 0 <= a < b <= self.size for a, b in ranges):
            raise InvalidArgumentError(f"a range is outside the published tree of size {self.size}")
        self._load(tiles.tiles_for_ranges(ranges))
        return [tiles.range_hash_from_tiles(a, b, self._tiles) for a, b in ranges]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return merkle.EMPTY_ROOT if size == 0 else self.hashes([(0, size)])[0]

    def inclusion(self, index: int, size: int | None = None) -> tuple[bytes, bytes, list[bytes]]:
        """``(leaf hash, root, proof)`` of the leaf at ``index`` in the first ``size`` leaves."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise InvalidArgumentError(f"index {index} is outside a tree of size {size} "
                                       f"(published: {self.size})")
        h = self.hashes([(index, index + 1), (0, size), *merkle.inclusion_ranges(index, size)])
        return h[0], h[1], h[2:]

    def consistency(self, old: int, new: int | None = None) -> tuple[bytes, bytes, list[bytes]]:
        """``(old root, new root, proof)`` that the tree at ``old`` is a prefix of it at ``new``."""
        new = self.size if new is None else new
        if not 0 < old <= new <= self.size:
            raise InvalidArgumentError(f"need 0 < old size <= new size <= {self.size} (got {old} -> {new})")
        h = self.hashes([(0, old), (0, new), *merkle.consistency_ranges(old, new)])
        return h[0], h[1], h[2:]


# --- a bundle checked against published tiles -------------------------------------------


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def check_bundle(document: dict, log_id: bytes, size: int | None, root: bytes | None,
                 reader: TileReader) -> list[str]:
    """Check a bundle that verified offline (``bundles.verify``: its fields are well formed)
    against a log's published tiles (``reader``; ``size`` and ``root``: the bundle's checkpoint, as
    ``bundles.verify`` read it): the same log (``log_id`` of the checkpoint's origin), its
    root(s) and every proof it carries equal byte for byte to those built from the tiles, and its
    checkpoint a prefix of the published one. Returns what was proven, one line each; raises
    ``BundleError`` naming the first difference."""
    if document.get("log_id") is None:
        raise BundleError("the bundle names no log id: it cannot be checked against a published log")
    if document["log_id"].lower() != _hex(log_id):
        raise BundleError(f"the bundle is of log {document.get('log_id')}, the tiles are of log {_hex(log_id)}: "
                          "another log's tiles")
    lines = []

    def same_root(at: int, claimed: bytes, what: str) -> None:
        if at > reader.size:
            raise BundleError(f"the bundle's {what} (size {at}) is beyond the published checkpoint "
                              f"(size {reader.size}): publish again")
        got = reader.root(at)
        if got != claimed:
            raise BundleError(f"the tiles give root {_hex(got)} at size {at}, the bundle's {what} claims "
                              f"{_hex(claimed)}")

    if "entries" in document:
        same_root(size, root, "checkpoint")
        for entry in document["entries"]:
            index = entry["index"]
            leaf, _, proof = reader.inclusion(index, size)
            if _hex(leaf) != entry["leaf_hash"].lower():
                raise BundleError(f"the tiles hold leaf {_hex(leaf)} at index {index}, the bundle's record "
                                  f"hashes to {entry['leaf_hash']}")
            if [_hex(h) for h in proof] != [h.lower() for h in entry["proof"]]:
                raise BundleError(f"the inclusion proof of record {index} built from the tiles differs from "
                                  "the bundle's")
            lines.append(f"record {index}: the tiles hold its leaf; their proof at size {size} equals the "
                         f"bundle's ({len(proof)} hashes)")
        old_size, old_root = size, root
    else:
        old, new = document["old"], document["new"]
        same_root(old["size"], bytes.fromhex(old["root"][2:]), "old checkpoint")
        same_root(new["size"], bytes.fromhex(new["root"][2:]), "new checkpoint")
        _, _, proof = reader.consistency(old["size"], new["size"])
        if [_hex(h) for h in proof] != [h.lower() for h in document["proof"]]:
            raise BundleError("the consistency proof built from the tiles differs from the bundle's")
        lines.append(f"consistency {old['size']} -> {new['size']}: the tiles' proof equals the bundle's "
                     f"({len(proof)} hashes)")
        old_size, old_root = new["size"], bytes.fromhex(new["root"][2:])
    if old_size:
        _, new_root, proof = reader.consistency(old_size)
        merkle.verify_consistency(old_size, reader.size, proof, old_root, new_root)
        lines.append(f"the bundle's checkpoint (size {old_size}) is a prefix of the published one "
                     f"(size {reader.size}; consistency proof of {len(proof)} hashes)")
    return lines
