"""The logs domain's edges only parse, call a use case and answer: none of them opens a store
class, reads the registry or encodes a contract call itself (``ledger.service.logs``,
``proofs``, ``anchoring``, ``idempotency`` do)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_layers import _imports

ROOT = Path(__file__).resolve().parents[2]
EDGES = {"api.routes_logs": "api/routes_logs.py", "api.background": "api/background.py",
         "ledger.cli.logs": "ledger/cli/logs.py", "ledger.cli.proofs": "ledger/cli/proofs.py",
         "ledger.cli.anchoring": "ledger/cli/anchoring.py"}


def test_the_logs_edges_import_no_store_and_touch_no_contract():
    stores = {m: sorted(i for i in _imports(m) if i.startswith("ledger.store")) for m in EDGES}
    assert {m: s for m, s in stores.items() if s} == {}
    chain = re.compile(r"\.registry\b|\.functions\.|\.events\.|log_id_of|typed_data\(")
    touching = {path: chain.findall((ROOT / path).read_text()) for path in EDGES.values()}
    assert {p: t for p, t in touching.items() if t} == {}
