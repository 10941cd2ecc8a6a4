"""The dpl command line, end to end, as a user runs it (a real process, a temporary DPL_HOME)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

DPL = str(Path(sys.executable).parent / "dpl")
SAMPLE = Path(__file__).resolve().parents[2] / "ledger" / "samples" / "factory-month.jsonl"


@pytest.fixture
def dpl(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env["DPL_HOME"] = str(tmp_path / "home")

    def run(*args, input: bytes | None = None, ok: bool | None = True, extra_env=None):
        proc = subprocess.run([DPL, *args], input=input, capture_output=True, cwd=tmp_path,
                              env={**env, **(extra_env or {})}, timeout=120)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        if ok is True:
            assert proc.returncode == 0, err
        elif ok is False:
            assert proc.returncode != 0, out
            assert "Traceback" not in err, err
        return proc.returncode, out, err

    run.home = tmp_path / "home"
    run.tmp = tmp_path
    return run


def _jsonl(records) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


def _rec(i, **over):
    r = {"id": f"wo-{i}", "ts": "2026-10-02T09:30:00+08:00", "type": "mes.work_order",
         "data": {"qty_good": 400 + i, "qty_scrap": i % 7, "line": "line-a"}}
    r.update(over)
    return r


def test_the_whole_story(dpl):
    dpl("log", "create", "line-a/mes")
    _, out, _ = dpl("ingest", "--log", "line-a/mes", str(SAMPLE), "--json")
    first = json.loads(out)
    assert first["appended"] == sum(1 for _ in SAMPLE.open()) and first["duplicates"] == 0
    assert first["root"].startswith("0x") and len(first["root"]) == 66

    _, out, _ = dpl("ingest", "--log", "line-a/mes", str(SAMPLE), "--json")
    again = json.loads(out)
    assert again == {"appended": 0, "duplicates": first["appended"], "size": first["size"], "root": first["root"]}

    _, out, _ = dpl("log", "show", "line-a/mes", "--json")
    assert json.loads(out) == {"stream": "line-a/mes", "log_id": None, "size": first["size"], "root": first["root"],
                               "format": "dpl-record/1"}

    bundle = dpl.tmp / "so.json"
    dpl("prove", "--log", "line-a/mes", "--id", "SO-2026-00003", "--out", str(bundle))
    doc = json.loads(bundle.read_text())
    assert doc["format"] == "dpl-proof/1" and doc["log_id"] is None and doc["anchor"] is None
    assert doc["checkpoint"] == {"size": first["size"], "root": first["root"]}
    assert doc["entries"][0]["record"]["id"] == "SO-2026-00003"
    code, out, _ = dpl("verify", str(bundle))
    assert out.count("\n") == 1 and out.startswith("valid:")

    _, by_index, _ = dpl("prove", "--log", "line-a/mes", "--index", str(doc["entries"][0]["index"]))
    assert json.loads(by_index)["entries"][0]["record"] == doc["entries"][0]["record"]

    # one checkpoint per ingest that appended (the second appended nothing), none anchored yet
    _, out, _ = dpl("log", "checkpoints", "line-a/mes", "--json")
    assert json.loads(out) == [{"size": first["size"], "root": first["root"], "anchor": None}]
    _, out, _ = dpl("log", "checkpoints", "line-a/mes")
    assert out == f"size {first['size']}\troot {first['root']}\tnot anchored\n"


@pytest.mark.parametrize("tamper, reason", [
    (lambda e, d: e["record"]["data"].update(amount_minor=1), "record and salt"),
    (lambda e, d: e.update(salt="0x" + "11" * 32), "record and salt"),
    (lambda e, d: e.update(index=e["index"] + 1), "inclusion proof"),
    (lambda e, d: e["proof"].__setitem__(0, "0x" + "22" * 32), "inclusion proof"),
    (lambda e, d: d["checkpoint"].update(root="0x" + "33" * 32), "inclusion proof"),
])
def test_verify_refuses_a_tampered_bundle(dpl, tamper, reason):
    dpl("log", "create", "s")
    dpl("ingest", "--log", "s", str(SAMPLE))
    _, out, _ = dpl("prove", "--log", "s", "--index", "1500")
    doc = json.loads(out)
    tamper(doc["entries"][0], doc)
    path = dpl.tmp / "bad.json"
    path.write_text(json.dumps(doc))
    code, _, err = dpl("verify", str(path), ok=False)
    assert code == 1 and reason in err


def test_consistency_between_sizes(dpl):
    dpl("log", "create", "s")
    dpl("ingest", "--log", "s", "-", input=_jsonl(_rec(i) for i in range(10)))
    dpl("ingest", "--log", "s", "-", input=_jsonl(_rec(i) for i in range(10, 25)))
    _, out, _ = dpl("consistency", "--log", "s", "--from", "10", "--json")
    doc = json.loads(out)
    assert doc["old"]["size"] == 10 and doc["new"]["size"] == 25 and doc["proof"]
    path = dpl.tmp / "c.json"
    path.write_text(out)
    assert dpl("verify", str(path))[1].startswith("valid:")
    doc["old"]["root"] = doc["new"]["root"]
    path.write_text(json.dumps(doc))
    assert "consistency" in dpl("verify", str(path), ok=False)[2]
    assert "old size" in dpl("consistency", "--log", "s", "--from", "26", ok=False)[2]


def test_csv_ingest(dpl):
    dpl("log", "create", "line-a/telemetry")
    csv_file = dpl.tmp / "t.csv"
    csv_file.write_text("id,ts,type,machine,temp_c,rpm,note\n"
                        "t1,2026-10-01T08:00:00Z,iot.telemetry,cnc-01,61.5,1450,\n"
                        "t2,2026-10-01T08:00:01Z,iot.telemetry,cnc-01,61.75,1452,oil low\n")
    _, out, _ = dpl("ingest", "--log", "line-a/telemetry", str(csv_file), "--json")
    assert json.loads(out)["appended"] == 2
    _, out, _ = dpl("prove", "--log", "line-a/telemetry", "--id", "t2")
    assert json.loads(out)["entries"][0]["record"]["data"] == {
        "machine": "cnc-01", "temp_c": 61.75, "rpm": 1452, "note": "oil low"}


def test_a_bad_line_names_line_id_and_field_and_stores_nothing(dpl):
    dpl("log", "create", "s")
    lines = [_rec(i) for i in range(6)]
    lines[4]["ts"] = "2026-13-01T00:00:00Z"
    code, _, err = dpl("ingest", "--log", "s", "-", input=_jsonl(lines), ok=False)
    assert code == 1 and "record 5" in err and "wo-4" in err and "'ts'" in err
    assert json.loads(dpl("log", "show", "s", "--json")[1])["size"] == 0


def test_a_conflicting_id_is_refused_whole(dpl):
    dpl("log", "create", "s")
    dpl("ingest", "--log", "s", "-", input=_jsonl(_rec(i) for i in range(3)))
    batch = [_rec(i) for i in range(3, 6)] + [_rec(1, data={"qty_good": 0})]
    _, _, err = dpl("ingest", "--log", "s", "-", input=_jsonl(batch), ok=False)
    assert "wo-1" in err and "conflicts" in err
    assert json.loads(dpl("log", "show", "s", "--json")[1])["size"] == 3


def test_clear_errors(dpl):
    assert "no log named" in dpl("ingest", "--log", "nope", str(SAMPLE), ok=False)[2]
    dpl("log", "create", "s")
    assert "cannot read" in dpl("ingest", "--log", "s", "missing.jsonl", ok=False)[2]
    assert "already exists" in dpl("log", "create", "s", ok=False)[2]
    assert "no record with id" in dpl("prove", "--log", "s", "--id", "x", ok=False)[2]
    # a missing index is a missing record, as the API's 404 says (it was "index 0 is outside a log of size 0")
    assert "has no record at index 0 (size 0)" in dpl("prove", "--log", "s", "--index", "0", ok=False)[2]
    (dpl.tmp / "junk.json").write_text("{not json")
    assert "not JSON" in dpl("verify", "junk.json", ok=False)[2]


def test_verify_reads_a_bundle_strictly_and_boundedly(dpl):
    dpl("log", "create", "s")
    dpl("ingest", "--log", "s", "-", input=_jsonl(_rec(i) for i in range(3)))
    _, out, _ = dpl("prove", "--log", "s", "--index", "1")
    assert dpl("verify", "-", input=out.encode())[1].startswith("valid:")
    # a second "format" key: two readers could see two documents (orjson kept the last, quietly)
    doubled = out.replace('"format"', '"format": "dpl-consistency/1", "format"', 1)
    code, _, err = dpl("verify", "-", input=doubled.encode(), ok=False)
    assert code == 1 and "duplicate key 'format'" in err and err.startswith("invalid:")
    code, _, err = dpl("verify", "-", input=b"[" * 100_000, ok=False)
    assert code == 1 and "nested deeper than 64 levels" in err


def test_data_key_from_environment_and_wrong_key(dpl):
    key = {"DPL_DATA_KEY": "00" * 32}
    dpl("log", "create", "s", extra_env=key)
    assert not (dpl.home / "data.key").exists()
    _, _, err = dpl("log", "list", ok=False)  # now with a fresh key file: not the same key
    assert "not the key this database was written with" in err


def test_default_key_file_is_private(dpl):
    dpl("log", "list")
    assert (dpl.home / "data.key").stat().st_mode & 0o777 == 0o600
    assert (dpl.home / "ledger.db").exists()


@pytest.mark.postgres
def test_database_url_is_honoured(dpl, pg_url):
    env = {"DATABASE_URL": pg_url}
    dpl("log", "create", "pg/stream", extra_env=env)
    dpl("ingest", "--log", "pg/stream", "-", input=_jsonl(_rec(i) for i in range(5)), extra_env=env)
    assert json.loads(dpl("log", "show", "pg/stream", "--json", extra_env=env)[1])["size"] == 5
    assert not (dpl.home / "ledger.db").exists()


@pytest.mark.postgres
def test_re_ingesting_on_postgresql_reports_duplicates_without_driver_noise(dpl, pg_url):
    env = {"DATABASE_URL": pg_url}
    dpl("log", "create", "pg/stream", extra_env=env)
    dpl("ingest", "--log", "pg/stream", str(SAMPLE), extra_env=env)
    extra = dpl.tmp / "more.jsonl"
    extra.write_bytes(SAMPLE.read_bytes() + _jsonl(_rec(i) for i in range(5)))
    _, out, err = dpl("ingest", "--log", "pg/stream", str(extra), extra_env=env)
    assert "appended 5, already stored 3495" in out
    assert "pipeline" not in err.lower() and "error ignored" not in err, err[:500]


def test_numbers_that_could_not_be_verified_later_are_refused(dpl):
    dpl("log", "create", "s")
    rec = _rec(1, data={"v": 1e16})
    _, _, err = dpl("ingest", "--log", "s", "-", input=_jsonl([rec]), ok=False)
    assert "data.v" in err and "string" in err
    dpl("ingest", "--log", "s", "-", input=_jsonl([_rec(2, data={"v": 6.02e23, "w": 1.5})]))
    _, out, _ = dpl("prove", "--log", "s", "--index", "0")
    (dpl.tmp / "p.json").write_text(out)
    assert dpl("verify", "p.json")[1].startswith("valid:")


def test_csv_with_bom_and_big_serial_numbers(dpl):
    dpl("log", "create", "s")
    (dpl.tmp / "t.csv").write_bytes("\ufeffid,ts,type,sim,qty\n".encode() +
                                    b"a1,2026-10-01T08:00:00Z,iot.sim,89860012345678901234,1e400\n")
    dpl("ingest", "--log", "s", "t.csv")
    _, out, _ = dpl("prove", "--log", "s", "--id", "a1")
    assert json.loads(out)["entries"][0]["record"]["data"] == {"sim": "89860012345678901234", "qty": "1e400"}


def test_csv_defects_are_named_on_their_line_and_store_nothing(dpl):
    dpl("log", "create", "s")
    good = "".join(f"a{i},2026-10-01T08:00:00Z,iot.sim,{i}\n" for i in range(3000)).encode()
    (dpl.tmp / "open.csv").write_bytes(b"id,ts,type,qty\n" + good + b'z,2026-10-01T08:00:00Z,iot.sim,"12\n')
    code, _, err = dpl("ingest", "--log", "s", "open.csv", ok=False)
    assert code == 1 and err.count("\n") == 1
    assert "line 3002: malformed CSV: a quoted field is not closed before the end of the file" in err
    (dpl.tmp / "utf8.csv").write_bytes(b"id,ts,type,qty\n" + good.replace(b"a10,", b"a\xff10,") + good[:0])
    _, _, err = dpl("ingest", "--log", "s", "utf8.csv", ok=False)
    assert "line 12: invalid UTF-8" in err
    assert json.loads(dpl("log", "show", "s", "--json")[1])["size"] == 0


def test_a_writer_held_up_by_another_says_so_in_one_line_and_stores_nothing(dpl):
    import sqlite3

    dpl("log", "create", "s")
    other = sqlite3.connect(dpl.home / "ledger.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer (an ingest in progress) holds the database
    try:
        code, _, err = dpl("ingest", "--log", "s", "-", input=_jsonl([_rec(1)]), ok=False,
                           extra_env={"DPL_SQLITE_BUSY_TIMEOUT": "1"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: another writer holds the log database (waited 1 s")
    assert json.loads(dpl("log", "show", "s", "--json")[1])["size"] == 0
    dpl("ingest", "--log", "s", "-", input=_jsonl([_rec(1)]))  # once it is done, the same ingest works
    assert json.loads(dpl("log", "show", "s", "--json")[1])["size"] == 1


def test_unwritable_output_and_bad_database_url_are_one_line_errors(dpl):
    dpl("log", "create", "s")
    dpl("ingest", "--log", "s", "-", input=_jsonl([_rec(1)]))
    code, _, err = dpl("prove", "--log", "s", "--index", "0", "--out", "/nonexistent/dir/p.json", ok=False)
    assert code == 1 and "cannot write" in err
    code, _, err = dpl("log", "list", extra_env={"DATABASE_URL": "foo://x"}, ok=False)
    assert code == 1 and "DATABASE_URL" in err


def test_keys_from_the_command_line(dpl):
    _, _, err = dpl("keys", "new", "--name", "acme", ok=False)  # no passphrase, no terminal
    assert "DPL_KEY_PASSPHRASE" in err
    _, out, _ = dpl("keys", "new", "--name", "acme", "--json", extra_env={"DPL_KEY_PASSPHRASE": "pw"})
    created = json.loads(out)
    assert created["name"] == "acme" and created["address"].startswith("0x") and not created["dev_only"]
    _, out, _ = dpl("log", "create", "acme/line-a", "--factory", "acme", "--json")
    assert json.loads(out)["log_id"].startswith("0x")
    _, out, _ = dpl("keys", "list", "--json")
    assert json.loads(out) == [created]
    keystore = (dpl.home / "keys" / "acme.json").read_text()
    assert "ciphertext" in keystore and "pw" not in keystore


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_integer_options_beyond_what_the_store_holds_are_refused_at_the_option(dpl, request, backend):
    """Before: `dpl prove --index 2**63` (or `--size 10**20`) reached the database and died with an
    OverflowError traceback (SQLite) or a driver error (PostgreSQL). Every index or size option is
    bounded by MAX_INDEX (the store's signed 64-bit column), ports by 1..65535: a one-line usage
    error that names the option, before any work."""
    extra = {"DATABASE_URL": request.getfixturevalue("pg_url")} if backend == "postgresql" else {}
    dpl("log", "create", "line-a/mes", extra_env=extra)
    dpl("ingest", "--log", "line-a/mes", "-", input=_jsonl([_rec(i) for i in range(3)]), extra_env=extra)
    cases = [("prove", "--log", "line-a/mes", "--index", str(2**63)),
             ("prove", "--log", "line-a/mes", "--index", "-1"),
             ("prove", "--log", "line-a/mes", "--index", "0", "--size", str(10**20)),
             ("prove", "--log", "line-a/mes", "--id", "wo-1", "--size", str(2**64)),
             ("consistency", "--log", "line-a/mes", "--from", str(10**30)),
             ("consistency", "--log", "line-a/mes", "--from", "1", "--to", str(2**63)),
             ("asset", "create", "--log", "line-a/mes", "--from", "0", "--to", str(2**63)),
             ("pledge", "consent", "--log", "line-a/mes", "--from", str(2**63), "--to", "1", "--lender", "x",
              "--principal", "1", "--currency", "CNY", "--maturity", "2030-01-01", "--lien-end", "2031-01-01",
              "--samples", "1", "--loan-ref", "L", "--out", "c.json"),
             ("serve", "--port", "70000"),
             ("chain", "up", "--port", "0")]
    for args in cases:
        code, out, err = dpl(*args, ok=False, extra_env=extra)
        assert code == 2, (args, err)
        said = " ".join(err.translate(str.maketrans("│╭╮╰╯─", "      ")).split())  # typer's box, unwrapped
        option = args[-2] if args[0] != "pledge" else "--from"
        assert f"Invalid value for '{option}'" in said, (args, said)
    # the bounds themselves are taken
    _, out, _ = dpl("prove", "--log", "line-a/mes", "--index", "2", "--size", "3", extra_env=extra)
    assert json.loads(out)["entries"][0]["index"] == 2
    code, _, err = dpl("prove", "--log", "line-a/mes", "--index", "0", "--size", str(2**63 - 1), ok=False,
                       extra_env=extra)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err


# --- what a forged input can do to a terminal ---------------------------------------------

from tests.terminal import run_on_a_terminal  # noqa: E402

# A key that, printed raw, erases the line, writes "valid: all good" and hides the rest.
FORGED_KEY = "\x1b[2K\rvalid: all good\n\x1b[8m"
FORGED_TEXT = '{"format":"dpl-proof/1","\\u001b[2K\\rvalid: all good\\n\\u001b[8m":{"a":1,"a":2}}'


def _on_a_terminal(dpl, *args) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    code, out = run_on_a_terminal([DPL, *args], env={**env, "DPL_HOME": str(dpl.home)}, cwd=dpl.tmp)
    return code, out.decode()


def _one_safe_line(out: str) -> str:
    """The one line a command wrote to the terminal, checked to hold nothing but printable text."""
    assert out.endswith("\r\n") and out.count("\r\n") == 1, repr(out)
    line = out[:-2]
    assert line.isprintable(), repr(line)  # no ESC, CR, LF, bidi control: nothing moves or hides
    return line


def test_dpl_verify_prints_input_text_escaped_on_a_terminal(dpl):
    (dpl.tmp / "forged.json").write_text(FORGED_TEXT)
    code, out = _on_a_terminal(dpl, "verify", "forged.json")
    assert code == 1
    line = _one_safe_line(out)
    assert line == "invalid: forged.json is not JSON: duplicate key 'a' (at \\x1b[2K\\rvalid: all good\\n\\x1b[8m.a)"
    # a valid bundle's summary: its stream shown escaped too
    dpl("log", "create", "s")
    dpl("ingest", "--log", "s", "-", input=_jsonl(_rec(i) for i in range(3)))
    bundle = json.loads(dpl("prove", "--log", "s", "--index", "1")[1])
    bundle["stream"] = "s\u202e\x1b[31m"  # not checked offline: a bundle names any stream
    bundle["extra"] = {FORGED_KEY: 1}
    (dpl.tmp / "renamed.json").write_text(json.dumps(bundle))
    code, out = _on_a_terminal(dpl, "verify", "renamed.json")
    assert code == 0
    assert _one_safe_line(out).startswith("valid: 1 record(s) at index 1 are in 's\\u202e\\x1b[31m' at size 3")


def test_every_commands_error_line_is_escaped_on_a_terminal(dpl):
    (dpl.tmp / "forged.json").write_text(FORGED_TEXT)
    code, out = _on_a_terminal(dpl, "pledge", "verify", "1", "--bundle", "forged.json")
    assert code == 1
    assert _one_safe_line(out) == ("error: forged.json is not a JSON collateral bundle: duplicate key 'a' "
                                   "(at \\x1b[2K\\rvalid: all good\\n\\x1b[8m.a)")
    code, out = _on_a_terminal(dpl, "log", "show", "s\x1b[2K\r\u202e")
    assert code == 1 and _one_safe_line(out) == ("error: no log named 's\\x1b[2K\\r\\u202e' "
                                                 "(create it with: dpl log create s\\x1b[2K\\r\\u202e)")


def test_json_output_is_json_with_every_non_printable_character_escaped():
    from ledger.cli.output import json_text

    value = {"a": "\x1b[2K\r\n\x7f\x9b\u202e\u2028\u200b\U000e0001 艾克米 😀", FORGED_KEY: [1, "ok"]}
    text = json_text(value)
    assert all(line.isprintable() for line in text.split("\n"))
    assert json.loads(text) == value
    assert "\\u202e" in text and "\\udb40\\udc01" in text and "艾克米 😀" in text
    assert json_text({"a": [1, "b"]}) == '{\n  "a": [\n    1,\n    "b"\n  ]\n}'


def test_ingest_with_sealing_workers_is_all_or_nothing_and_idempotent(dpl):
    dpl("log", "create", "s")
    lines = [_rec(i) for i in range(6000)]  # three chunks: a pool of workers seals them
    bad = [*lines[:4499], {**lines[4499], "ts": "yesterday"}, *lines[4500:]]
    code, _, err = dpl("ingest", "--log", "s", "--jobs", "2", "-", input=_jsonl(bad), ok=False)
    assert code == 1 and err.count("\n") == 1 and "record 4500" in err and "wo-4499" in err and "'ts'" in err
    assert json.loads(dpl("log", "show", "s", "--json")[1])["size"] == 0
    out = json.loads(dpl("ingest", "--log", "s", "--jobs", "2", "--json", "-", input=_jsonl(lines))[1])
    assert (out["appended"], out["size"]) == (6000, 6000)
    again = json.loads(dpl("ingest", "--log", "s", "--jobs", "3", "--json", "-", input=_jsonl(lines[::-1]))[1])
    assert (again["appended"], again["duplicates"], again["root"]) == (0, 6000, out["root"])
    code, _, err = dpl("ingest", "--log", "s", "--jobs", "0", "-", input=b"", ok=False)
    assert code != 0 and "--jobs" in err
