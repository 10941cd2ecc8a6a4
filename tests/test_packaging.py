"""The package ships what a verifier needs: every package of the source tree, and the registry
records pinned for public chains (``deploy/deployments``, installed as ``ledger/deployments``),
found by an installed ``ledger`` as by a checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools.discovery import PEP420PackageFinder

ROOT = Path(__file__).resolve().parents[1]
SEPOLIA = 11155111
ADDRESS = "0x00000000000000000000000000000000000000a1"


def _listed() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_the_package_list_is_the_source_tree():
    found = {p for p in PEP420PackageFinder.find(str(ROOT), include=["ledger*", "api*"])
             if all(part.isidentifier() for part in p.split("."))}
    assert _listed() == found | {"ledger.deployments"}


def test_an_installed_package_trusts_the_records_it_ships(tmp_path):
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("ledger", "api", "deploy"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    (src / "deploy" / "deployments" / f"{SEPOLIA}.json").write_text(
        json.dumps({"contract": "DataPledgeRegistry", "chain_id": SEPOLIA, "address": ADDRESS}))
    lib = tmp_path / "lib"
    build = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                            "--build-lib", str(lib)], cwd=src, capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    assert (lib / "ledger" / "deployments" / f"{SEPOLIA}.json").is_file()

    probe = (
        "import json, ledger\n"
        "from ledger.chain.deploy import UntrustedRegistryError, trusted_registry\n"
        f"t = trusted_registry({SEPOLIA}, None)\n"
        "try:\n"
        "    trusted_registry(5, None); other = None\n"
        "except UntrustedRegistryError as e:\n"
        "    other = str(e)\n"
        "print(json.dumps({'ledger': ledger.__file__, 'address': t.address, 'source': t.source, 'other': other}))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["ledger"].startswith(str(lib)), "the installed copy was imported, not the checkout"
    assert got["address"] == "0x00000000000000000000000000000000000000A1"
    assert str(lib / "ledger" / "deployments") in got["source"]
    assert got["other"].startswith("no trusted registry for chain 5: pass --registry")
