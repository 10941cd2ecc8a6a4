"""ledger.jsonio: strict, bounded JSON for everything read from outside."""

import io
import subprocess
import sys

import pytest

from ledger import jsonio
from ledger.jsonio import JsonInputError, loads, nesting_exceeds
from ledger.records import parse_json_line
from ledger.errors import RecordError


def _refused(raw, **kw) -> JsonInputError:
    with pytest.raises(JsonInputError) as info:
        loads(raw, what="the bundle", **kw)
    return info.value


def test_compact_and_spaced_texts_give_the_same_value():
    assert loads(b'{"a":[1,2,{"b":null}]}') == loads(b'{ "a" : [1, 2, {"b": null}] }') == {"a": [1, 2, {"b": None}]}


def test_line_broken_texts_keep_their_strings_and_values():
    assert loads(b'{"s":"x\\ny",\n"b":[1,\r\n2]}\n') == {"s": "x\ny", "b": [1, 2]}
    assert loads(b'{"s":"a b",\n"t":1}') == {"s": "a b", "t": 1}  # spaces in a string are not layout


def test_integers_of_any_size_are_kept_exactly():
    assert loads(b'{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}


@pytest.mark.parametrize("raw,path", [
    (b'{"a":1,"a":2}', "a"),
    (b'{"x":{"y":[{"k":1},{"k":2,"k":3}]}}', "x.y.[1].k"),
    (b'{"a": 1, "a": 1}', "a"),  # the same value twice is still two keys
    # one record per line (a disclosure's layout): line breaks between tokens are skipped by the
    # fast path, which must still see every duplicate
    (b'{"a":1,\n"a":2}', "a"),
    (b'{"r":[\n{"k":1},\n{"k":2,"k":3}\n]}\n', "r.[1].k"),
    (b'{"a":\r\n1,"a":1}', "a"),
])
def test_duplicate_keys_are_refused_with_their_path(raw, path):
    e = _refused(raw)
    assert "duplicate key" in e.reason and e.path == path and path in str(e)


@pytest.mark.parametrize("raw,reason", [
    (b'{"a": NaN}', "NaN"),
    (b"[Infinity]", "Infinity"),
    (b'{"a": "\xff"}', "UTF-8"),
    (b'{"a": ', "invalid JSON"),
    (b"[1] [2]", "invalid JSON"),
    (b"", "invalid JSON"),
])
def test_what_json_does_not_allow_is_refused(raw, reason):
    assert reason in _refused(raw).reason


def test_a_str_with_a_lone_surrogate_is_refused():
    assert "surrogate" in _refused("[\"\ud800\"]").reason


@pytest.mark.parametrize("depth", [65, 1000, 1025, 100_000])
def test_nesting_beyond_the_limit_is_refused(depth):
    assert "nested deeper than 64" in _refused(b"[" * depth + b"]" * depth).reason
    assert "nested deeper than 64" in _refused(b"[" * depth).reason  # unterminated too


def test_nesting_at_the_limit_is_accepted():
    value = loads(b"[" * 64 + b"]" * 64)
    for _ in range(63):
        value = value[0]
    assert value == []


def test_brackets_inside_strings_do_not_count():
    text = b'["' + b"[" * 1000 + b'", {"k": "]]]{{{"}]'
    assert not nesting_exceeds(text, 2)
    assert loads(text)[0] == "[" * 1000


def test_a_string_runs_to_the_end_of_the_text_when_no_quote_closes_it():
    assert not nesting_exceeds(b'"abc\\\n' + b"[" * 100, 64)  # brackets in an unterminated string
    assert nesting_exceeds(b'"a" ' + b"[" * 65, 64)
    assert _refused(b'["abc' + b"[" * 100).reason == "invalid JSON: Unterminated string starting at (line 1, column 2)"


def test_unterminated_strings_cost_one_pass_not_one_per_quote():
    """The depth scan once retried at every quote of ``"\\"\\"\\"…``, scanning to the end each
    time: 80 KB took 13 s, a 4 MB bundle hours. Now it is one pass (bounded here by a generous
    timeout, not timed)."""
    code = (
        "from ledger import jsonio\n"
        "for raw in (b'\"' + b'\\\\\"' * 2_000_000, b'[\"' + b'\\\\\"' * 2_000_000 + b'\\\\'):\n"
        "    try:\n"
        "        jsonio.loads(raw)\n"
        "    except jsonio.JsonInputError as e:\n"
        "        print(e.reason)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["invalid JSON: Unterminated string starting at (line 1, column 1)",
                                       "invalid JSON: Unterminated string starting at (line 1, column 2)"]


def test_deep_nesting_is_refused_whatever_the_recursion_limit():
    """py_ecc (imported by web3) raises the limit to 100,000; the C JSON scanner then overflows
    the C stack on ~80,000 levels (SIGSEGV). The same input must be a clean refusal."""
    code = (
        "import sys; sys.setrecursionlimit(100000)\n"
        "from ledger import jsonio, records\n"
        "raw = b'[' * 200_000\n"
        "for parse in (lambda: jsonio.loads(raw), lambda: jsonio.loads(b' ' + raw),\n"
        "              lambda: records.parse_json_line(b' ' + raw, 1)):\n"
        "    try:\n"
        "        parse()\n"
        "    except ValueError as e:\n"
        "        print(type(e).__name__, 'deeper' in str(e))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["JsonInputError True", "JsonInputError True", "RecordError True"]


def test_record_lines_keep_naming_the_field_of_a_nan():
    with pytest.raises(RecordError):
        parse_json_line(b"[" * 100_000, 1)
    value = parse_json_line(b'{"id": "a", "data": {"t": NaN}}', 1)  # validation names data.t later
    assert value["data"]["t"] != value["data"]["t"]


def test_read_limited_reads_no_more_than_it_allows():
    source = io.BytesIO(b"x" * 1000)
    with pytest.raises(JsonInputError, match="larger than 999 bytes"):
        jsonio.read_limited(source, 999, "the body")
    assert source.tell() == 1000  # max_bytes + 1 read, not the rest of a 2 GB stream
    assert jsonio.read_limited(io.BytesIO(b"x" * 999), 999, "the body") == b"x" * 999


def test_load_file_names_the_file(tmp_path):
    path = tmp_path / "b.json"
    path.write_bytes(b'{"a":1,"a":2}')
    with pytest.raises(JsonInputError, match=r"b\.json: duplicate key 'a'"):
        jsonio.load_file(str(path), what="bundle")
    with pytest.raises(jsonio.InvalidArgumentError, match="cannot read"):
        jsonio.load_file(str(tmp_path / "missing.json"), what="bundle")
    path.write_bytes(b"[1]" + b" " * 100)
    with pytest.raises(JsonInputError, match="larger than 50 bytes"):
        jsonio.load_file(str(path), what="bundle", max_bytes=50)


def test_an_integer_longer_than_python_converts_is_refused_not_raised():
    # json.loads raises a bare ValueError past sys.get_int_max_str_digits(): no JsonInputError, a 500
    e = _refused(b'{"n": 1' + b"0" * 5000 + b"}")
    assert "more than 4,300 digits" in e.reason
    with pytest.raises(RecordError, match="4,300 digits"):
        parse_json_line(b'{"id": "a", "data": {"n": 1' + b"0" * 5000 + b"}}", 1)


@pytest.mark.parametrize("raw, path", [
    (b'"\\ud800"', None),
    (b'{"a": {"\\udc00": 1}}', "a.\\udc00"),  # the key in the path is escaped: the path is valid Unicode
    (b'[1, {"k": "x\\uDBFFy"}]', "[1].k"),
])
def test_lone_surrogates_are_refused_on_request_with_where(raw, path):
    assert loads(raw) is not None  # kept by default (a record's validation names the field)
    e = _refused(raw, refuse_lone_surrogates=True)
    assert "lone surrogate" in e.reason and e.path == path
    str(e).encode("utf-8")  # the message itself can be written anywhere


def test_a_surrogate_pair_is_one_character_not_a_lone_surrogate():
    assert loads(b'["\\ud83d\\ude00"]', refuse_lone_surrogates=True) == ["\U0001F600"]


def test_find_text_walks_any_depth_without_recursion():
    deep: object = "x\x00"
    for _ in range(200_000):
        deep = [deep]
    assert jsonio.find_text(deep, lambda s: "\x00" in s) == ".".join(["[0]"] * 200_000)
    assert jsonio.find_text({"a": ["ok", {"b\x00": 1}]}, lambda s: "\x00" in s) == "a.[1].b\x00"
