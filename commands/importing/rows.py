"""One record of the file → one command, with who sent it and why (its ``Meta``), and what
makes it idempotent: the id of the aggregate it creates, or its idempotency key.

The command then passes the door every command passes (``commands/limits.py``) when its
batch runs it, unless it was imported before.
"""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID

from commands.importing.kinds import Kind, aggregate_id, claim_key, external_id
from commands.importing.mapping import ColumnMapping
from commands.importing.sources import Record
from domain.errors import InvalidValue
from domain.meta import Meta


class Row(NamedTuple):
    """A record ready to run. ``target``: the aggregate the row creates (its id derived
    from the external id); ``key``: the idempotency key of a row that creates none (an
    interaction). A named tuple: made for every row, and a frozen dataclass costs more
    to make."""

    row: int
    external_id: str
    command: object
    meta: Meta
    target: UUID | None = None
    key: str | None = None


class RowBuilder:
    """``actor``: who runs the import; ``correlation_id``: the import run, shared by every
    event it records. Each event's causation is its source record
    (``import/<source>/<noun>/<external id>``), so an auditor can tell where it came from."""

    def __init__(self, kind: Kind, mapping: ColumnMapping, source: str, actor: str, correlation_id: str) -> None:
        self.kind = kind
        self.mapping = mapping
        self.source = source
        self.actor = actor
        self.correlation_id = correlation_id

    def build(self, record: Record) -> Row:
        """Raises ``InvalidValue`` (or one of its kinds, each with its ``code``)."""
        if record.problem is not None:
            raise InvalidValue(record.problem)
        values = self.mapping.values(record.values)
        external = external_id(values)
        command = self.kind.build(values, self.source)
        key = claim_key(self.source, self.kind.noun, external)
        meta = Meta(self.actor, self.correlation_id, key)
        if self.kind.aggregate is not None:
            target = aggregate_id(self.source, self.kind.aggregate, external)
            return Row(record.row, external, command, meta, target, None)
        return Row(record.row, external, command, meta, None, key)
