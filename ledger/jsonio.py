"""Reading JSON that anyone may have written: bounded, strict, the same rules everywhere.

Every JSON text the ledger reads from outside (a request body, a bundle, a consent, a
manifest, a record line) goes through ``loads``:

- **depth first**: nesting deeper than ``max_depth`` is refused before any recursive parser
  sees the text. orjson (a Rust parser, itself capped at 1,024 levels) reads it first; the
  standard library's parser, which recurses on the C stack as deep as the interpreter's
  recursion limit allows (py_ecc, imported by web3, raises that limit to 100,000: a
  200 KB body of ``[`` then overflows the C stack and kills the process), only ever sees a
  text whose depth is already known to be small. Nothing here depends on the recursion limit;
- **duplicate keys** are refused, naming the path (``a.b.[2].c``): two readers of one document
  must never see two different values;
- the literals ``NaN`` and ``Infinity`` and invalid UTF-8 are refused; integers of any size are
  kept exactly; a number beyond a double's range (``1e400``) reads as an infinite float, as in
  the browser's reader (``verify/json.js``), and the record rules refuse it naming its field;
- a lone surrogate (``"\\ud800"``: valid JSON syntax, not Unicode) is refused on request
  (``refuse_lone_surrogates``), naming where; record lines keep it so that their validation
  can name the field.

Size limits belong to whoever reads the bytes (``read_limited`` for files and stdin, the
service's edge for bodies): a parser can only refuse what it was handed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import BinaryIO

import orjson

from ledger.errors import InvalidArgumentError

#: Nesting allowed by default: far above any document of ours (a record nests at most 32).
MAX_DEPTH = 64
#: Default cap for a JSON file a command reads (a bundle of 100 sampled records is ~200 KB).
MAX_FILE_BYTES = 256 * 1024 * 1024

# A string: from a quote to the next unescaped quote, or to the end of the text when none closes
# it. It matches at every quote in one pass, so the scan is linear (a pattern that must find the
# closing quote fails at every quote of ``"\\"\\"\\"…`` after scanning to the end: quadratic, an
# 80 KB text took 13 s). verify/json.js scans with the same rule.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)
# A \u escape of a surrogate code point: only a text holding one can parse to a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JsonInputError(InvalidArgumentError):
    """A JSON text was refused: ``reason`` says why, ``path`` where (``None``: the whole text).
    For a duplicate key, ``parsed`` is the value read anyway (later duplicates winning), so
    a caller can still name the document (a record's id)."""

    def __init__(self, what: str, reason: str, path: str | None = None, parsed: object = None):
        self.what, self.reason, self.path, self.parsed = what, reason, path, parsed
        super().__init__(f"{what}: {reason}" + (f" (at {path})" if path else ""))


def nesting_exceeds(raw: bytes, max_depth: int) -> bool:
    """Does the JSON text ``raw`` nest arrays and objects deeper than ``max_depth``?

    A flat scan (strings removed, brackets counted), linear in the text and free of
    recursion, so it is safe on any input. A string runs from a quote to the next unescaped
    quote (a backslash escapes any one character), or to the end of the text: brackets in an
    unterminated string do not count, and the parser then refuses the text as unterminated."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= max_depth:  # cannot nest deeper than it has brackets
        return False
    depth = 0
    for c in brackets:
        if c == 0x5B or c == 0x7B:  # [ {
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def loads(raw: bytes | str, *, what: str = "the JSON text", max_depth: int = MAX_DEPTH,
          refuse_lone_surrogates: bool = False) -> object:
    """Parse one JSON text strictly (see the module docstring); ``JsonInputError`` otherwise.
    ``refuse_lone_surrogates``: also refuse a string or key that escapes half a surrogate pair."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonInputError(what, LONE_SURROGATE) from None
    value = _loads(raw, what, max_depth)
    if refuse_lone_surrogates and _SURROGATE_ESCAPE.search(raw):
        path = find_lone_surrogate(value)
        if path is not None:
            raise JsonInputError(what, LONE_SURROGATE, path or None)
    return value


LONE_SURROGATE = "holds a lone surrogate (not valid Unicode)"


def _loads(raw: bytes, what: str, max_depth: int) -> object:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return parse_checked(raw, what, max_depth)  # big integers, NaN, bad UTF-8, or not JSON
    if type(value) in (dict, list) and _depth_of(value, max_depth) > max_depth:
        raise JsonInputError(what, f"nested deeper than {max_depth} levels")
    again = orjson.dumps(value)
    if again == raw:  # compact and round-trips: no key can have appeared twice
        return value
    # One record per line (a disclosure, NDJSON-like layouts): a valid JSON text holds a line
    # break only between tokens (never in a string, where it must be escaped), so without them
    # it is the same text, and round-tripping proves it compact again.
    if b"\n" in raw and again == raw.replace(b"\n", b"").replace(b"\r", b""):
        return value
    return parse_checked(raw, what, max_depth)


def _depth_of(value: object, limit: int) -> int:
    """The nesting depth of a parsed value, iteratively (stops counting past ``limit``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > deepest:
            deepest = d
            if d > limit:
                return d
        children = v.values() if type(v) is dict else v
        stack.extend((c, d + 1) for c in children if type(c) in (dict, list))
    return deepest


class _DuplicateKeys(dict):
    """An object that had a key more than once; ``duplicates`` lists which."""

    duplicates: list[str]


def _pairs_to_dict(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        seen, dups = set(), []
        for k, _ in pairs:
            if k in seen:
                dups.append(k)
            seen.add(k)
        d = _DuplicateKeys(d)
        d.duplicates = dups
    return d


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotANumber(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs_to_dict, parse_constant=_refuse_constant)
# For records: NaN and Infinity are read as floats so that validation can name their field.
_DECODER_KEEPING_CONSTANTS = json.JSONDecoder(object_pairs_hook=_pairs_to_dict,
                                              parse_constant=lambda name: float(name))


def parse_checked(raw: bytes, what: str, max_depth: int, keep_constants: bool = False) -> object:
    """The standard library's parser, for texts orjson refused or that may repeat a key.
    Its recursion is bounded first (``nesting_exceeds``), so it never nears the C stack.
    ``keep_constants``: read NaN/Infinity as floats instead of refusing them."""
    if nesting_exceeds(raw, max_depth):
        raise JsonInputError(what, f"nested deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonInputError(what, f"invalid UTF-8 at byte {e.start}") from None
    try:
        value = (_DECODER_KEEPING_CONSTANTS if keep_constants else _DECODER).decode(text)
    except _NotANumber as e:
        raise JsonInputError(what, f"{e} is not a JSON number (I-JSON)") from None
    except json.JSONDecodeError as e:
        raise JsonInputError(what, f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except ValueError:  # the only other one: an integer longer than Python converts
        raise JsonInputError(what, f"holds an integer of more than {sys.get_int_max_str_digits():,} digits") from None
    except RecursionError:  # not reached: the depth was checked above
        raise JsonInputError(what, f"nested deeper than {max_depth} levels") from None
    dup = find_duplicate(value)
    if dup is not None:
        path, key = dup
        raise JsonInputError(what, f"duplicate key {key!r}", ".".join([*path, key]), parsed=value)
    return value


def find_duplicate(value: object) -> tuple[list[str], str] | None:
    """(path, key) of the first object in ``value`` (parsed by ``_DECODER``) that repeats a
    key, or None. Iterative: safe at any depth."""
    stack: list[tuple[object, list[str]]] = [(value, [])]
    while stack:
        v, path = stack.pop()
        if isinstance(v, _DuplicateKeys):
            return path, v.duplicates[0]
        if isinstance(v, dict):
            stack.extend((c, [*path, k]) for k, c in reversed(list(v.items())) if isinstance(c, (dict, list)))
        elif isinstance(v, list):
            stack.extend((c, [*path, f"[{i}]"]) for i, c in reversed(list(enumerate(v)))
                         if isinstance(c, (dict, list)))
    return None


def find_lone_surrogate(value: object) -> str | None:
    """The path (``a.b.[2]``; ``""`` for the value itself) of the first string or key in
    ``value`` that holds a surrogate code point, or None (see ``find_text``)."""
    return find_text(value, _has_surrogate)


def find_text(value: object, bad) -> str | None:
    """The path (``a.b.[2]``; ``""`` for the value itself) of the first string or key in
    ``value`` for which ``bad(text)`` is true, or None. Keys in the path are written with
    their surrogates escaped (``\\udc00``), so the path itself is valid Unicode. Iterative
    and linear (each step links to its parent's path): safe at any depth."""
    stack: list[tuple[object, tuple | None]] = [(value, None)]  # (value, (parent, label))
    while stack:
        v, at = stack.pop()
        if type(v) is str:
            if bad(v):
                return _joined(at)
        elif isinstance(v, dict):
            for k, c in reversed(list(v.items())):
                if bad(k):
                    name = k.encode("utf-8", "backslashreplace").decode("utf-8") if _has_surrogate(k) else k
                    return _joined((at, name))
                stack.append((c, (at, k)))
        elif isinstance(v, list):
            stack.extend((c, (at, f"[{i}]")) for i, c in reversed(list(enumerate(v))))
    return None


def _joined(at: tuple | None) -> str:
    labels = []
    while at is not None:
        at, label = at
        labels.append(label)
    return ".".join(reversed(labels))


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_limited(source: BinaryIO, max_bytes: int, what: str) -> bytes:
    """At most ``max_bytes`` from ``source``; ``JsonInputError`` (nothing more read) beyond."""
    data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise JsonInputError(what, f"is larger than {max_bytes:,} bytes")
    return data


def load_file(path: str, *, what: str, max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_DEPTH) -> object:
    """A JSON file (``-``: standard input), read with a size cap and parsed by ``loads``.
    A file that cannot be read is an ``InvalidArgumentError`` naming it."""
    try:
        if path == "-":
            raw = read_limited(sys.stdin.buffer, max_bytes, what)
        else:
            with Path(path).open("rb") as f:
                raw = read_limited(f, max_bytes, f"{what} {path}")
    except OSError as e:
        raise InvalidArgumentError(f"cannot read {path}: {e.strerror or e}") from None
    return loads(raw, what=what if path == "-" else f"{what} {path}", max_depth=max_depth)
