"""One rule for a round of an anchoring loop (``ledger.service.anchoring.anchor_round``): the
service's thread and ``dpl anchor --every`` skip a round another process anchors, and report a
failed round and go on, whatever failed.

Drift: ``dpl anchor --every`` stopped with a traceback on any error that was neither a
``LedgerError`` nor a database error, while the service's loop survived it. The service was
right (a loop that anchors unattended must outlive one failed round); both do that now."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

import ledger.service.anchoring as anchoring
from ledger.errors import AnchoringBusyError, ChainUnavailableError
from ledger.service.anchoring import Round, anchor_round
from ledger.service.context import Context
from ledger.settings import Settings


class Stop(BaseException):
    """Ends the endless loop under test (as Ctrl-C would), without being an Exception."""


def _failing(*errors):
    calls = []

    def anchor_once(ctx, stream=None):
        calls.append(stream)
        error = errors[min(len(calls), len(errors)) - 1]
        if error is None:
            return []
        raise error

    anchor_once.calls = calls
    return anchor_once


def test_a_round_is_reports_busy_or_an_error_and_never_raises(tmp_path, monkeypatch):
    ctx = Context(Settings(home=tmp_path / "home", data_key=SecretStr("00" * 32), database_url=None))
    bug = RuntimeError("our bug")
    monkeypatch.setattr(anchoring, "anchor_once", _failing(AnchoringBusyError(), bug, None))
    assert anchor_round(ctx) == Round(busy=True)
    assert anchor_round(ctx).error is bug
    assert anchor_round(ctx, "s") == Round(reports=[])
    with pytest.raises(Stop):  # only what ends a process (Ctrl-C, exit) goes through
        monkeypatch.setattr(anchoring, "anchor_once", _failing(Stop()))
        anchor_round(ctx)


def test_dpl_anchor_every_outlives_a_round_that_failed_whatever_failed(tmp_path, monkeypatch):
    from ledger.cli import anchoring as cli_anchoring
    from ledger.cli.app import app

    monkeypatch.setenv("DPL_HOME", str(tmp_path / "home"))
    fake = _failing(ChainUnavailableError("the node is down"), RuntimeError("our bug"), AnchoringBusyError(), None)
    monkeypatch.setattr(anchoring, "anchor_once", fake)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 4:
            raise KeyboardInterrupt  # Ctrl-C, the way out of the loop

    monkeypatch.setattr(cli_anchoring.time, "sleep", sleep)
    result = CliRunner().invoke(app, ["anchor", "--every", "0.5", "--json"])
    assert result.exit_code == 130, (result.exception, result.stderr)  # it ran until stopped: four rounds
    assert len(fake.calls) == 4 and sleeps == [0.5] * 4
    err = result.stderr.splitlines()
    assert err == ["anchoring failed: the node is down; retrying in 0.5 s",
                   "anchoring failed: our bug; retrying in 0.5 s",
                   "another process (the service or a dpl anchor) is anchoring: skipping this round",
                   "stopped (Ctrl-C)"]
    assert result.stdout.strip() == "[]"
