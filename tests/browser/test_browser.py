"""Browser tests: each JavaScript spec in this folder (node's test runner + playwright-core +
Debian's Chromium) against a served UI (see conftest.py). Screenshots: test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import run_spec

SPECS = sorted(p.name for p in Path(__file__).parent.glob("*.spec.mjs"))


def test_every_page_has_a_spec():
    pages = {p.stem for p in (Path(__file__).parents[2] / "api" / "web" / "templates").glob("*.html")}
    pages -= {"base", "forbidden"}
    assert {f"{page}.spec.mjs" for page in pages} <= set(SPECS), "a page without a browser spec"


@pytest.mark.anvil
@pytest.mark.parametrize("spec", SPECS)
def test_spec(ui, spec):
    run_spec(ui, spec)
