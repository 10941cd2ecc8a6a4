"""Pledges of data assets, by concept.

``terms`` (pure: terms, consent and extension documents, the lapse rule), ``collateral``
(pure: the ``dpl-collateral/1`` bundle and its checks), ``chain`` (the registry adapter:
reading pledges and every registry call), ``asset`` (the pledged records, from the store at an
anchored checkpoint), ``consent`` (consents and extensions checked, signed, accepted),
``mirror`` (the pledge events into the database mirror) and ``collateral_chain`` (bundles
built from the store and verified against the chain). Nothing is imported here: importing
``ledger.pledge.terms`` loads no chain or database code.
"""
