"""The operational projection as a whole: every table, and every change an event makes.

Pure: ``project`` turns one envelope into the row changes of every table it concerns.
"""

from __future__ import annotations

from projections.oltp import (
    accounts,
    activities,
    agents,
    campaigns,
    cases,
    contacts,
    contracts,
    deals,
    orders,
    pipelines,
    price_lists,
    products,
    quotes,
    timeline,
)
from projections.oltp.rows import Change, Table
from streams.envelope import Envelope

TABLES: tuple[Table, ...] = (
    contacts.TABLE,
    accounts.TABLE,
    pipelines.TABLE,
    deals.TABLE,
    cases.TABLE,
    *campaigns.TABLES,
    timeline.TABLE,
    products.TABLE,
    *price_lists.TABLES,
    *quotes.TABLES,
    orders.TABLE,
    contracts.TABLE,
    *activities.TABLES,
    agents.TABLE,
)
BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}

#: Aggregates whose events change one row of one table.
_SINGLE = (contacts, accounts, pipelines, deals, cases, products, orders, contracts, agents)
#: Aggregates whose events also add or change rows of other tables.
_SEVERAL = (campaigns, price_lists, quotes, activities)


def project(envelope: Envelope) -> list[Change]:
    """The row changes one event makes; raises on an event it cannot read (the writer
    hands that record to ``reject``)."""
    changes: list[Change] = []
    for single in _SINGLE:
        patch = single.project(envelope)
        if patch is not None:
            changes.append(patch)
    for several in _SEVERAL:
        changes.extend(several.project(envelope))
    entry = timeline.project(envelope)
    if entry is not None:
        changes.append(entry)
    return changes
