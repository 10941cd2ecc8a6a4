"""Re-checking a covenant warning's evidence (``docs/COVENANTS.md`` §5): one home for
``dpl monitor recheck`` (the browser runs the same pure checks, ``verify/covenant_evidence.js``).

- ``pledge_covenants(consent)``: the covenants and pledged profile a consent document carries
  (what the lender holds: the consent it issued the pledge from), the digest re-checked;
- ``recheck``: ``ledger.covenant_evidence`` on the warning and the disclosure, then (with
  ``rpc_url``) the chain checks of the disclosure's checkpoint through the registry the lender
  trusts, as ``ledger.service.profiles.verify`` does.
"""

from __future__ import annotations

from ledger.errors import InvalidArgumentError


def pledge_covenants(consent: object) -> tuple[dict, dict]:
    """(covenants, pledged profile) of a consent document (``dpl pledge consent``, the API's
    consent): its ``covenants`` (whose ``covenants_digest`` must match) and its ``dpl-asset/2``
    manifest's ``profile``; ``InvalidArgumentError`` saying what is missing."""
    from ledger.assets import ASSET_FORMAT_V2
    from ledger.bundles import to_hex
    from ledger.covenants import check_covenants, covenants_digest

    if type(consent) is not dict:
        raise InvalidArgumentError("the consent must be a JSON object (a consent document)")
    if consent.get("covenants") is None:
        raise InvalidArgumentError("the consent carries no covenants: its pledge has no covenant to re-check")
    try:
        checked = check_covenants(consent["covenants"])
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"the consent's {e}") from None
    if consent.get("covenants_digest") != to_hex(covenants_digest(checked)):
        raise InvalidArgumentError("the consent's covenants_digest is not the digest of its covenants")
    manifest = consent.get("manifest")
    if type(manifest) is not dict or manifest.get("format") != ASSET_FORMAT_V2 or type(manifest.get("profile")) is not dict:
        raise InvalidArgumentError(f"the consent's manifest is not a {ASSET_FORMAT_V2} manifest with a profile")
    return checked, manifest["profile"]


def recheck(warning: object, disclosure: object, *, covenants: dict, pledged_profile: dict,
            rpc_url: str | None = None, home=None, registry: str | None = None, factory: str | None = None):
    """The ``ledger.covenant_evidence.Recheck`` of ``warning`` given ``disclosure``; with
    ``rpc_url`` also the chain checks of the disclosure's checkpoint (``registry``, else the
    deployment record pinned for the chain under ``home``; never an address the files name; and
    with ``factory``, the factory expected). Without ``rpc_url`` the verdict is on maths alone."""
    from ledger.chain.check import expected_factory
    from ledger.covenant_evidence import recheck_evidence
    from ledger.service.profiles import disclosure_chain_checks

    expected = expected_factory(factory)  # a malformed --factory is the caller's error, before any work
    verdict = recheck_evidence(warning, disclosure, covenants=covenants, pledged_profile=pledged_profile)
    if rpc_url is None or verdict.verified is None:
        return verdict
    from ledger.chain.client import Chain

    verdict.checks.extend(disclosure_chain_checks(verdict.verified, Chain(rpc_url), home, registry, expected))
    return verdict
