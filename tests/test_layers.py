"""Dependency direction: pure modules import no storage; ledger never imports api."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ["ledger.merkle", "ledger.canonical", "ledger.records", "ledger.bundles", "ledger.tiles",
        "ledger.assets", "ledger.sampling", "ledger.collateral"]


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
