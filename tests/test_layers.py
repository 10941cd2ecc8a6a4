"""Dependency direction: pure modules import no storage; ledger never imports api."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ["ledger.merkle", "ledger.canonical", "ledger.records", "ledger.bundles", "ledger.tiles",
        "ledger.assets", "ledger.sampling", "ledger.pledge.collateral", "ledger.pledge.terms"]


def test_pure_modules_import_no_storage_or_settings():
    code = (
        "import sys\n"
        f"for m in {PURE!r}: __import__(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'pydantic_settings', 'api') "
        "or m.startswith('ledger.store') or m == 'ledger.settings')\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_ledger_never_imports_api():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "ledger").rglob("*.py")
        if any(line.strip().startswith(("import api", "from api")) for line in p.read_text().splitlines())
    ]
    assert offenders == []


def _imported_by(modules: list[str]) -> set[str]:
    code = (
        "import sys\n"
        f"for m in {modules!r}: __import__(m)\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('ledger.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(out.stdout.strip().split(","))


def test_storage_and_chain_adapters_never_import_each_other():
    """The nonce manager (``ledger.transactions``) joins them; neither reaches into the other."""
    chain = [f"ledger.chain.{p.stem}" for p in (ROOT / "ledger" / "chain").glob("*.py") if p.stem != "__init__"]
    store = [f"ledger.store.{p.stem}" for p in (ROOT / "ledger" / "store").glob("*.py") if p.stem != "__init__"]
    assert "ledger.chain.client" in chain and "ledger.store.transactions" in store
    assert {m for m in _imported_by(chain) if m.startswith("ledger.store") or m == "ledger.transactions"} == set()
    assert {m for m in _imported_by(store) if m.startswith("ledger.chain") or m == "ledger.transactions"} == set()


def test_one_pledge_terms_type():
    """``ledger.pledge.terms.Terms`` is the only class that carries a pledge's terms."""
    import re

    found = [(str(p.relative_to(ROOT)), m.group(1)) for p in (ROOT / "ledger").rglob("*.py")
             for m in re.finditer(r"^class (\w*Terms)\b", p.read_text(), re.M)]
    assert found == [("ledger/pledge/terms.py", "Terms")]


def test_each_pledge_registry_call_is_encoded_in_one_module():
    """Issue and the holder's moves are encoded in ``ledger/pledge/chain.py`` only (the CLI and
    the API each encoded them before), and no other pledge module reads the registry itself."""
    import re

    moves = re.compile(r"\.functions\.(issue|safeTransferFrom|release|declareDefault|extend|extendWithConsent)\(")
    files = [*(ROOT / "ledger").rglob("*.py"), *(ROOT / "api").rglob("*.py")]
    assert sorted({str(p.relative_to(ROOT)) for p in files if moves.search(p.read_text())}) == ["ledger/pledge/chain.py"]
    readers = [p.name for p in (ROOT / "ledger" / "pledge").glob("*.py") if ".functions." in p.read_text()]
    assert readers == ["chain.py"]
