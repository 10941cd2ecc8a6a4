"""ledger.crypto: the data key file, key parsing, and sealing bound to the leaf."""

import base64
import os
import stat
from pathlib import Path

import pytest

from ledger.crypto import DataKey, parse_key_text
from ledger.errors import DataKeyError


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    key = DataKey.load(None, tmp_path / "home")
    path = tmp_path / "home" / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = DataKey.load(None, tmp_path / "home")
    assert again.check_value == key.check_value


def test_env_key_in_base64_or_hex():
    raw = os.urandom(32)
    a = DataKey(parse_key_text(base64.b64encode(raw).decode()), "env")
    b = DataKey(parse_key_text(raw.hex()), "env")
    assert a.check_value == b.check_value
    with pytest.raises(DataKeyError, match="32 bytes"):
        parse_key_text("too-short")


def test_sealed_payload_opens_only_with_its_key_and_leaf():
    key = DataKey(os.urandom(32), "test")
    leaf, body = os.urandom(32), os.urandom(32) + b'{"id":"x"}'
    sealed = key.seal(leaf, body, os.urandom(12))
    assert b'{"id":"x"}' not in sealed
    assert key.open(leaf, sealed) == (body[:32], body[32:])
    with pytest.raises(DataKeyError, match="does not open"):
        key.open(os.urandom(32), sealed)  # moved to another row
    with pytest.raises(DataKeyError, match="does not open"):
        DataKey(os.urandom(32), "other").open(leaf, sealed)


def test_the_key_never_appears_in_its_repr():
    raw = os.urandom(32)
    key = DataKey(raw, "DPL_DATA_KEY")
    assert raw.hex() not in repr(key) and base64.b64encode(raw).decode() not in repr(key)


# --- the sealed record format (format byte, compression, rows sealed before formats) ------

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from ledger import crypto  # noqa: E402
from ledger.records import prepare_record  # noqa: E402
from ledger.jsonio import loads  # noqa: E402

MASTER = bytes(range(32))


def _sealed_before_formats(master: bytes, leaf: bytes, body: bytes, nonce: bytes) -> bytes:
    """A sealed record as the code before the format byte wrote it (``nonce || AES-256-GCM``,
    associated data ``dpl-record/1 || leaf``), built here from the primitives, not by ``seal``."""
    return nonce + AESGCM(crypto._derive(master, b"seal")).encrypt(nonce, body, b"dpl-record/1" + leaf)


SAMPLE = Path(crypto.__file__).parent / "samples" / "factory-month.jsonl"


def _demo_canonicals() -> list[bytes]:
    """The bundled month's records: telemetry, then work and sales orders (the one telemetry in 5)."""
    lines = SAMPLE.read_bytes().splitlines()
    canon = [prepare_record(loads(line), i).canonical for i, line in enumerate(lines)]
    return [c for c in canon if b"iot.telemetry" in c][::5] + [c for c in canon if b"iot.telemetry" not in c]


def test_the_compression_dictionary_is_frozen():
    # Rows compressed with it must open forever: a new dictionary is a new format byte.
    import hashlib

    assert hashlib.sha256(crypto.RECORD_DICTIONARY_1).hexdigest() == (
        "10bc2033522899bbad544141557b14ef77cd807c74aa6cbdb532565b880ac583")


def test_records_are_compressed_inside_the_seal_when_smaller():
    key = DataKey(MASTER, "test")
    leaf, salt = os.urandom(32), os.urandom(32)
    canonicals = _demo_canonicals()
    for kind in (b"iot.telemetry", b"mes.work_order", b"erp.sales_order"):
        assert any(b'"type":"' + kind + b'"' in c for c in canonicals)
    for canonical in canonicals:
        sealed = key.seal(leaf, salt + canonical, os.urandom(12))
        assert sealed[0] == crypto.SEALED_ZSTD_1
        assert len(sealed) < 1 + 12 + 32 + 16 + len(canonical) * 0.55  # telemetry ~30 %, orders ~35 %
        assert key.open(leaf, sealed) == (salt, canonical)
    random_body = os.urandom(200)  # nothing to compress: stored as it is, one byte longer than before
    sealed = key.seal(leaf, salt + random_body, os.urandom(12))
    assert sealed[0] == crypto.SEALED_PLAIN and len(sealed) == 1 + 12 + 32 + 200 + 16
    assert key.open(leaf, sealed) == (salt, random_body)


def test_a_row_sealed_before_the_format_byte_still_opens():
    key = DataKey(MASTER, "test")
    leaf, salt, canonical = os.urandom(32), os.urandom(32), _demo_canonicals()[0]
    # Nonces beginning with each format byte too: such a row is first tried as a formatted one.
    for first in (0x00, crypto.SEALED_PLAIN, crypto.SEALED_ZSTD_1, 0xFF):
        sealed = _sealed_before_formats(MASTER, leaf, salt + canonical, bytes([first]) + os.urandom(11))
        assert key.open(leaf, sealed) == (salt, canonical)
        with pytest.raises(DataKeyError, match="does not open"):
            key.open(os.urandom(32), sealed)
        altered = bytearray(sealed)
        altered[len(sealed) // 2] ^= 1
        with pytest.raises(DataKeyError, match="does not open"):
            key.open(leaf, bytes(altered))


@pytest.mark.parametrize("compressible", [True, False])
def test_any_altered_byte_of_a_sealed_record_is_refused(compressible):
    key = DataKey(MASTER, "test")
    leaf, salt = os.urandom(32), os.urandom(32)
    canonical = _demo_canonicals()[1] if compressible else os.urandom(100)
    sealed = key.seal(leaf, salt + canonical, os.urandom(12))
    assert sealed[0] == (crypto.SEALED_ZSTD_1 if compressible else crypto.SEALED_PLAIN)
    for i in range(len(sealed)):
        for flip in (0x01, 0x80):
            altered = bytearray(sealed)
            altered[i] ^= flip
            with pytest.raises(DataKeyError, match="does not open"):
                key.open(leaf, bytes(altered))
    other = crypto.SEALED_PLAIN if compressible else crypto.SEALED_ZSTD_1
    for head in (other, 0x00, 0x03):  # the format byte swapped for the other format, or unknown
        with pytest.raises(DataKeyError, match="does not open"):
            key.open(leaf, bytes([head]) + sealed[1:])
    for cut in (sealed[:-1], sealed[1:], sealed[:20], b""):  # truncated
        with pytest.raises(DataKeyError, match="does not open"):
            key.open(leaf, cut)


def test_an_authentic_row_whose_body_is_not_a_zstd_frame_is_an_invariant_error():
    # Only a bug could write one (the body is authenticated): it is not read as a wrong key.
    from ledger.errors import InvariantError

    leaf, salt, nonce = os.urandom(32), os.urandom(32), os.urandom(12)
    head = bytes([crypto.SEALED_ZSTD_1])
    aead = AESGCM(crypto._derive(MASTER, b"seal"))
    sealed = head + nonce + aead.encrypt(nonce, salt + b'{"id":"x"}', b"dpl-record/1" + head + leaf)
    with pytest.raises(InvariantError, match="not a valid zstd frame"):
        DataKey(MASTER, "test").open(leaf, sealed)


def test_sealing_from_many_threads_at_once():
    # zstd contexts are per thread; records sealed concurrently all open to their own bytes.
    from concurrent.futures import ThreadPoolExecutor

    key = DataKey(MASTER, "test")
    canonicals = _demo_canonicals()[:400]

    def work(part: list[bytes]) -> list[tuple[bytes, bytes, bytes]]:
        out = []
        for c in part:
            leaf, salt = os.urandom(32), os.urandom(32)
            out.append((leaf, salt + c, key.seal(leaf, salt + c, os.urandom(12))))
        return out

    with ThreadPoolExecutor(4) as pool:
        results = [r for part in pool.map(work, [canonicals[i::4] for i in range(4)]) for r in part]
    assert len(results) == 400
    for leaf, body, sealed in results:
        assert key.open(leaf, sealed) == (body[:32], body[32:])


#: A row sealed by this version (format 0x02), kept as bytes: later code must still open it
#: (the compressor's output may change with zstandard's version; what opens may not).
FIXTURE_CANONICAL = (
    b'{"data":{"machine":"cnc-01","parts_total":15489,"power_kw":9.6,"spindle_rpm":1551,"state":"running",'
    b'"temp_c":68.62,"vibration_mm_s":1.675},"id":"tel-cnc-01-000000000","ts":"2026-10-01T00:00:00.000+08:00",'
    b'"type":"iot.telemetry"}'
)
FIXTURE_SEALED_ZSTD_1 = bytes.fromhex(
    "02000000000000000000000000b0e9cbe29f4f06c232394b8f55d4120826defeb51522bf1230619f3397c6c2c972dfe7"
    "45d0f0c406c736bb66baed4a2d4d3d7a9369d55a1d730ab536e3758553e3150d1539e1d233ce8ef497c10b0b9401b482"
    "13149b387980e252243a"
)


def test_a_row_sealed_by_format_0x02_opens_for_good():
    key = DataKey(MASTER, "test")
    assert key.open(bytes([7]) * 32, FIXTURE_SEALED_ZSTD_1) == (bytes([9]) * 32, FIXTURE_CANONICAL)
