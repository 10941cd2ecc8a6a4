"""Bounds on numbers a caller gives, in one place for the store, the API and the command line.

A light module (no imports) so every edge can check a number before it does any work.
"""

#: The largest record index or log size the store takes (a signed 64-bit column on SQLite and
#: PostgreSQL).
MAX_INDEX = 2**63 - 1
#: Most records a collateral check may sample (the terms' ``samples``, k): the collateral bundle
#: discloses every sampled record with its salt, so k is what a lender gets to read. One rule for
#: the command line, custodial and self-signed consents (the registry only asks for k >= 1).
MAX_SAMPLES = 10_000
