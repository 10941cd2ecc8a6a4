"""The service under TestClient against a real anvil, once on SQLite and once on PostgreSQL.

A ``world`` is built once per backend (session scope, so the suite stays fast): its own
anvil, its own DPL_HOME with the dev keys and a freshly deployed registry, the app from
``create_app(Settings(...))``, the parties below with one API key each, and acme's sample
log (3,198 records) ingested and anchored over HTTP. Tests that change state make their
own logs and pledges (``World.new_log``, ``World.pledge``) so they do not depend on order.

    admin   admin    dev0 (custodial; the registry's deployer)
    acme    factory  dev1 (custodial)
    globex  factory  dev4 (custodial)      another factory: must see nothing of acme's
    selfco  factory  dev5 (not custodial)  signs its own consents
    bank-a  lender   dev2 (custodial, approved)
    bank-b  lender   dev3 (custodial, approved)
    bank-c  lender   dev6 (custodial, NOT approved on the registry)
    aud     auditor

They need anvil from node_modules (`npm ci`) and PostgreSQL at ``DPL_TEST_DATABASE_URL``;
without them they fail, they never skip.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.chain import node

SAMPLE = Path(__file__).resolve().parents[2] / "ledger" / "samples" / "factory-month.jsonl"
PASSPHRASE = "api-tests"
CHAIN_ID = 31337
PARTIES = [  # name, role, dev key, custodial
    ("admin", "admin", "dev0", True),
    ("acme", "factory", "dev1", True),
    ("globex", "factory", "dev4", True),
    ("selfco", "factory", "dev5", False),
    ("bank-a", "lender", "dev2", True),
    ("bank-b", "lender", "dev3", True),
    ("bank-c", "lender", "dev6", True),
    ("aud", "auditor", None, False),
]
#: The party that stands for each role in the role matrix.
ROLE_PARTY = {"factory": "acme", "lender": "bank-a", "auditor": "aud", "admin": "admin"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def record(rid: str, **data) -> dict:
    return {"id": rid, "ts": "2026-11-01T08:00:00+08:00", "type": "test.event", "data": data or {"n": 1}}


def stop_node(home: Path) -> None:
    """Stop the anvil ``node.up`` started in this process.

    ``node.down`` alone takes its full 15 s timeout here: the anvil it started is our child,
    and ``os.kill(pid, 0)`` succeeds on an unreaped child until SIGKILL. So reap it first;
    ``node.down`` then finds it gone and removes the pid file.
    """
    pid_file = home / "chain" / "anvil.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        except ChildProcessError:  # not our child (or reaped elsewhere): is it still there?
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
        time.sleep(0.05)
    node.down(home)


@contextmanager
def passphrase_env():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DPL_KEY_PASSPHRASE", PASSPHRASE)
        yield


@contextmanager
def pg_database(server_url: str):
    name = f"dpl_api_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def chain_home(home: Path):
    """anvil on a free port with its state under ``home``, the dev keys, and a registry."""
    from ledger.chain.client import Chain
    from ledger.chain.deploy import deploy_registry
    from ledger.keys import Keyring

    info = node.up(home, port=free_port())
    try:
        keyring = Keyring(home, lambda: PASSPHRASE)
        keyring.import_dev()
        record_, _ = deploy_registry(Chain(info.rpc_url), home, keyring.account("dev0", CHAIN_ID))
        yield info.rpc_url, keyring, record_
    finally:
        stop_node(home)


@dataclass
class World:
    backend: str
    home: Path
    rpc_url: str
    registry: str
    client: TestClient
    keyring: object
    keys: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    log_id: str = ""  # acme's sample log, anchored
    size: int = 0
    records: list[dict] = field(default_factory=list)
    _streams: itertools.count = field(default_factory=lambda: itertools.count(1))
    _ranges: itertools.count = field(default_factory=lambda: itertools.count(0))

    # --- requests ---------------------------------------------------------------------

    def h(self, who: str | None, **extra) -> dict:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return {**headers, **extra}

    def call(self, method: str, path: str, who: str | None = None, headers: dict | None = None, **kw):
        return self.client.request(method, path, headers={**self.h(who), **(headers or {})}, **kw)

    def get(self, path, who=None, **kw):
        return self.call("GET", path, who, **kw)

    def post(self, path, who=None, **kw):
        return self.call("POST", path, who, **kw)

    def ok(self, method: str, path: str, who: str | None = None, status: int = 200, **kw):
        r = self.call(method, path, who, **kw)
        assert r.status_code == status, (method, path, who, r.status_code, r.text)
        return r.json() if r.content else None

    def app_parties(self):
        """The app's PartyStore (to make extra keys without going through the admin API)."""
        return self.client.app.state.services.parties

    # --- chain ------------------------------------------------------------------------

    def rpc(self, method: str, *params):
        return node.rpc_call(self.rpc_url, method, list(params))

    def mine(self, n: int = 1) -> None:
        for _ in range(n):
            self.rpc("evm_mine")

    def chain_time(self) -> int:
        return int(self.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)

    def travel(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", seconds)
        self.mine()

    # --- logs and pledges -------------------------------------------------------------

    def new_log(self, who: str = "acme", records: list[dict] | None = None, anchor: bool = False) -> str:
        out = self.ok("POST", "/v1/logs", who, 201, json={"stream": f"t/{next(self._streams)}"})
        if records:
            self.ok("POST", f"/v1/logs/{out['log_id']}/records", who, json=records)
        if anchor:
            self.ok("POST", f"/v1/logs/{out['log_id']}/checkpoints/anchor", who)
        return out["log_id"]

    def next_range(self, n: int = 40) -> tuple[int, int]:
        """A range of acme's sample log no other pledge of this world uses."""
        start = next(self._ranges) * n
        assert start + n <= self.size, "the sample log has no free range left: use fewer pledges"
        return start, start + n

    def terms(self, lender: str = "bank-a", rng: tuple[int, int] | None = None, log_id: str | None = None,
              maturity: int | None = None, lien_end: int | None = None, max_lien_end: int | None = None,
              samples: int = 4) -> dict:
        """Consent terms; the holder may extend the lien by 600 days without asking (``max_lien_end``)."""
        start, end = rng or self.next_range()
        now = self.chain_time()
        lien_end = lien_end or now + 400 * 86400
        return {"log_id": log_id or self.log_id, "from": start, "to": end, "lender": lender,
                "principal": 1_250_000, "currency": "CNY", "maturity": str(maturity or now + 30 * 86400),
                "lien_end": str(lien_end), "max_lien_end": str(max_lien_end or lien_end + 600 * 86400),
                "samples": samples,
                "loan_ref": f"LOAN-{start}-{secrets.token_hex(3)}"}

    def consent(self, factory: str = "acme", **terms_kw) -> int:
        out = self.ok("POST", "/v1/pledges/consents", factory, 201, json={"terms": self.terms(**terms_kw)})
        return out["consent_id"]

    def pledge(self, lender: str = "bank-a", factory: str = "acme", **terms_kw) -> int:
        consent_id = self.consent(factory, lender=lender, **terms_kw)
        return self.ok("POST", "/v1/pledges", lender, 201, json={"consent_id": consent_id})["token_id"]


def _build_world(backend: str, home: Path, database_url: str | None):
    from api.app import create_app
    from ledger.settings import Settings

    with chain_home(home) as (rpc_url, keyring, deployment):
        settings = Settings(home=home, rpc_url=rpc_url, anchor_interval=0, webhooks_interval=0,
                            database_url=database_url)
        app = create_app(settings)
        with TestClient(app) as client:
            w = World(backend, home, rpc_url, deployment["address"], client, keyring)
            parties = app.state.services.parties
            for name, role, key, custodial in PARTIES:
                address = keyring.info(key).address if key else None
                parties.create(name, role, address, key if custodial else None)
                w.keys[name] = parties.new_key(name)
                w.addresses[name] = address
            for lender in ("bank-a", "bank-b"):
                assert w.ok("POST", "/v1/lenders", "admin", 201, json={"address": lender})["approved"] is True
            w.records = sample_records()
            w.log_id = w.ok("POST", "/v1/logs", "acme", 201, json={"stream": "line-a"})["log_id"]
            w.size = w.ok("POST", f"/v1/logs/{w.log_id}/records", "acme", json=w.records)["size"]
            assert w.size == len(w.records) == 3495
            [report] = w.ok("POST", f"/v1/logs/{w.log_id}/checkpoints/anchor", "acme")
            assert report["state"] in ("included", "final") and report["size"] == w.size
            yield w


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"api-{request.param}") / "home"
    with passphrase_env():
        if request.param == "sqlite":
            yield from _build_world("sqlite", home, None)
        else:
            with pg_database(request.getfixturevalue("pg_server_url")) as url:
                yield from _build_world("postgres", home, url)
