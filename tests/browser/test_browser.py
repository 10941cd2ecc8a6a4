"""Browser tests: each JavaScript spec (node's test runner + playwright-core + Debian's
Chromium) against a served UI (see conftest.py). Screenshots: test-artifacts/browser/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_spec

SPECS = ["signin.spec.mjs"]


@pytest.mark.anvil
@pytest.mark.parametrize("spec", SPECS)
def test_spec(ui, spec):
    run_spec(ui, spec)
