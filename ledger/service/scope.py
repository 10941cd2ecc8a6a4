"""Which rows of a table kept per factory and lender a party sees (one rule for grants,
applications and disclosures): a factory its own, a lender those naming its address, an auditor
all of them where the table says auditors may; nobody else any."""

from __future__ import annotations


def rows_for(party, list_rows, *, auditors: bool = True) -> list:
    """``list_rows(factory_party=…)``, ``list_rows(lender=…)`` or ``list_rows()`` as ``party``
    may see them (its role), else []."""
    if party.role == "factory":
        return list_rows(factory_party=party.id)
    if party.role == "lender":
        return list_rows(lender=party.address) if party.address else []
    if party.role == "auditor" and auditors:
        return list_rows()
    return []
