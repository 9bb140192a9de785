"""The operational projection as a whole: every table, and every change an event makes.

Pure: ``project`` turns one envelope into the row changes of every table it concerns.
"""

from __future__ import annotations

from projections.oltp import accounts, campaigns, cases, contacts, deals, pipelines, timeline
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
)
BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}


def project(envelope: Envelope) -> list[Change]:
    """The row changes one event makes; raises on an event it cannot read (the writer
    hands that record to ``reject``)."""
    changes: list[Change] = []
    for single in (contacts.project, accounts.project, pipelines.project, deals.project, cases.project):
        patch = single(envelope)
        if patch is not None:
            changes.append(patch)
    changes.extend(campaigns.project(envelope))
    entry = timeline.project(envelope)
    if entry is not None:
        changes.append(entry)
    return changes
