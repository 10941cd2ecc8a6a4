"""RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes a record is hashed as.

Two paths, one result:
- the fast path serialises with orjson (sorted keys, compact) after a walk that proves
  orjson's text equals JCS's for this value: floats in the range where both print the
  same shortest digits in plain decimal, integral floats turned into ints (JCS prints
  ``1.0`` as ``1``), ASCII keys (so code-point order is UTF-16 order);
- anything else goes through the full reference implementation (the ``rfc8785``
  package).
``tests/ledger/test_canonical.py`` checks the fast path byte for byte against the full one
with hypothesis.

The walk also enforces what JCS cannot represent (I-JSON, RFC 7493): NaN and Infinity,
integers outside +-(2**53 - 1) (and floats from 2**53 to 1e21, which JCS prints as such
integers), non-string keys, nesting beyond ``max_depth``. Those raise
``CanonicalError`` with the path of the offending value.
"""

from __future__ import annotations

import math

import orjson
import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1
# Where orjson and ECMAScript both print a non-integral double as plain decimal digits
# (orjson switches to exponent form below 1e-5 and from 1e16 on).
_PLAIN_MIN = 1e-5
_PLAIN_MAX = 1e16
_INTEGRAL_MAX = float(2**53)
_SORT = orjson.OPT_SORT_KEYS


class CanonicalError(ValueError):
    """A value JCS cannot canonicalise; ``path`` names where (e.g. ``data.temp``)."""

    def __init__(self, path: list[str], reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{'.'.join(path) or '(value)'}: {reason}")


class _NeedsFullPath(Exception):
    """The fast path cannot promise JCS output for this value."""


def canonicalize(value: object, max_depth: int = 64) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool, None)."""
    try:
        prepared = _prepare(value, max_depth)
    except _NeedsFullPath:
        check(value, max_depth)
        return rfc8785.dumps(value)
    try:
        return orjson.dumps(prepared, option=_SORT)
    except orjson.JSONEncodeError:
        check(value, max_depth)  # names the offending value (e.g. a lone surrogate)
        raise


def fast_canonicalize(value: object, max_depth: int = 64) -> bytes | None:
    """The fast path alone: JCS bytes, or None where only the full path can promise them."""
    try:
        return orjson.dumps(_prepare(value, max_depth), option=_SORT)
    except (_NeedsFullPath, orjson.JSONEncodeError):
        return None


def fast_prepare(value: object, max_depth: int = 64) -> object | None:
    """``value`` made ready for ``orjson.dumps(..., option=OPT_SORT_KEYS)`` to print JCS,
    or None where only the full path can promise JCS bytes. (For callers that assemble
    a canonical object around already-safe parts, like a record's fixed top level.)"""
    try:
        return _prepare(value, max_depth)
    except _NeedsFullPath:
        return None


def check(value: object, max_depth: int = 64) -> None:
    """Raise ``CanonicalError`` if ``value`` is not canonicalisable I-JSON."""
    _check(value, max_depth, [])


def _prepare(value, depth):
    """Return ``value`` ready for orjson (a copy only where a float had to become an int)."""
    t = type(value)
    if t is dict:
        return _prepare_dict(value, depth)
    if t is list:
        return _prepare_list(value, depth)
    return _prepare_scalar(value, t)


# The hot loop of ingest: scalars are checked inline, containers recurse.
def _prepare_scalar(v, t):
    if t is str or t is bool or v is None:
        return v
    if t is int:
        if -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
            return v
        raise _NeedsFullPath
    if t is float:
        if v.is_integer():
            if -_INTEGRAL_MAX < v < _INTEGRAL_MAX:
                return int(v)  # JCS prints 1.0 as 1
        elif _PLAIN_MIN <= (-v if v < 0 else v) < _PLAIN_MAX:
            return v
    raise _NeedsFullPath


def _prepare_dict(d, depth):
    if depth <= 0:
        raise _NeedsFullPath
    try:
        if not "".join(d).isascii():  # non-ASCII keys: UTF-16 order may differ
            raise _NeedsFullPath
    except TypeError:  # a non-string key
        raise _NeedsFullPath from None
    out = None
    for k, v in d.items():
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int and -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
            continue
        if t is float and not v.is_integer() and _PLAIN_MIN <= (-v if v < 0 else v) < _PLAIN_MAX:
            continue
        if t is dict:
            p = _prepare_dict(v, depth - 1)
        elif t is list:
            p = _prepare_list(v, depth - 1)
        else:
            p = _prepare_scalar(v, t)
        if p is not v:
            if out is None:
                out = dict(d)
            out[k] = p
    return d if out is None else out


def _prepare_list(items, depth):
    if depth <= 0:
        raise _NeedsFullPath
    out = None
    for i, v in enumerate(items):
        t = type(v)
        if t is dict:
            p = _prepare_dict(v, depth - 1)
        elif t is list:
            p = _prepare_list(v, depth - 1)
        else:
            p = _prepare_scalar(v, t)
        if p is not v:
            if out is None:
                out = list(items)
            out[i] = p
    return items if out is None else out


def _check(value, depth, path):
    t = type(value)
    if t is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CanonicalError(path, "string holds a lone surrogate (not valid Unicode)") from None
    elif t is bool or value is None:
        pass
    elif t is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(
                path, "integer outside +-(2^53 - 1) cannot be represented exactly; send it as a string"
            )
    elif t is float:
        if not math.isfinite(value):
            raise CanonicalError(path, "NaN and Infinity are not JSON numbers")
        if _INTEGRAL_MAX <= abs(value) < 1e21:
            # JCS prints these as integer digits, which read back as an integer beyond
            # +-(2^53 - 1): the record could never be verified again.
            raise CanonicalError(
                path, "number of 2^53 or more (below 1e21) cannot be represented exactly; "
                "send it as a string"
            )
    elif t is dict or t is list:
        if depth <= 0:
            raise CanonicalError(path, "nested too deep")
        items = value.items() if t is dict else enumerate(value)
        for k, v in items:
            if t is dict:
                if type(k) is not str:
                    raise CanonicalError(path, f"object key {k!r} is not a string")
                try:
                    k.encode("utf-8")
                except UnicodeEncodeError:
                    raise CanonicalError(path, "object key holds a lone surrogate") from None
                _check(v, depth - 1, [*path, k])
            else:
                _check(v, depth - 1, [*path, f"[{k}]"])
    else:
        raise CanonicalError(path, f"{t.__name__} is not a JSON type")
