"""data-pledge-ledger: verifiable production logs that a factory can pledge as collateral."""

__version__ = "0.1.0"
