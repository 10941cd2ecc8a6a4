"""ledger.leaves: the leaf a record makes in a log of each record format, and the format a bundle
names (absent: dpl-record/1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle, record2
from ledger.errors import BundleError, InvalidArgumentError
from ledger.leaves import (RECORD_V1, RECORD_V2, bundle_field, bundle_record_format, check_record_format,
                           leaf_hash_of)
from ledger.records import prepare_record
from ledger.synthetic import telemetry

RECORDS = list(telemetry(20, seed=5))


def test_each_format_makes_its_own_leaf():
    for i, r in enumerate(RECORDS):
        salt, canonical = bytes([i]) * 32, prepare_record(r, i).canonical
        v1, v2 = leaf_hash_of(RECORD_V1, salt, canonical), leaf_hash_of(RECORD_V2, salt, canonical)
        assert v1 == merkle.leaf_hash(salt + canonical)
        assert v2 == record2.leaf_hash_v2(r, salt)
        assert v1 != v2


@given(salt=st.binary(min_size=32, max_size=32), i=st.integers(0, len(RECORDS) - 1))
@settings(max_examples=50, deadline=None)
def test_no_leaf_data_is_of_both_formats(salt, i):
    """Byte 32 of v1 leaf data opens the canonical record ('{'); of v2 leaf data it is 0x02."""
    canonical = prepare_record(RECORDS[i], i).canonical
    assert (salt + canonical)[32] == 0x7B
    assert record2.leaf_data_v2_from_canonical(canonical, salt)[32] == 0x02


def test_formats_are_named_exactly():
    assert check_record_format("dpl-record/2") == RECORD_V2
    for bad in ("dpl-record/3", "DPL-RECORD/1", "", None, 1):
        with pytest.raises(InvalidArgumentError, match="unknown record format"):
            check_record_format(bad)
    with pytest.raises(InvalidArgumentError):
        leaf_hash_of("dpl-record/0", b"\0" * 32, b"{}")


def test_a_bundle_names_v2_and_v1_is_the_default():
    assert bundle_field(RECORD_V1) == {} and bundle_field(RECORD_V2) == {"record_format": "dpl-record/2"}
    assert bundle_record_format({}) == RECORD_V1
    assert bundle_record_format({"record_format": "dpl-record/1"}) == RECORD_V1
    assert bundle_record_format({"record_format": "dpl-record/2"}) == RECORD_V2
    for bad, shown in (("dpl-record/3", "'dpl-record/3'"), (None, "None"), (2, "2"), ([], "[]")):
        with pytest.raises(BundleError) as e:
            bundle_record_format({"record_format": bad})
        assert str(e.value) == f"record_format must be 'dpl-record/1' or 'dpl-record/2', not {shown}"
