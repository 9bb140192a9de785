"""Runs the reactions as a consumer of the event stream, like a projector whose "rows"
are commands. Its position is stored in the event store's database; a crash between a
command and the position replays the event, and the idempotency key makes that harmless."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from automations.reactions import Reaction, Reactions
from commands.bus import CommandBus
from commands.errors import ConcurrencyConflict
from domain.errors import DomainError
from domain.meta import Meta
from projections import positions
from streams.envelope import Envelope
from streams.records import Channel, Record

log = logging.getLogger(__name__)

_ATTEMPTS = 5


class PositionsDatabase(Protocol):
    """Where the automations keep their positions: the event store's database (SQLite or
    PostgreSQL), whatever class reaches it."""

    #: The driver's placeholder: ``?`` or ``%s``.
    ph: str

    def connect(self) -> Any:
        """A new connection in autocommit mode."""

    def transaction(self, conn: Any) -> AbstractContextManager[Any]:
        """One transaction on ``conn``: committed at the end of the block, else rolled back."""


class AutomationWriter:
    name = "automations"

    def __init__(self, bus: CommandBus, reactions: Reactions, db: PositionsDatabase) -> None:
        self.bus = bus
        self.reactions = reactions
        self.db = db
        self._conn = db.connect()
        positions.migrate(self._conn)
        self._generation = 0
        self.issued = 0

    def positions(self) -> dict[Channel, int]:
        self._generation, stored = positions.read(self._conn, self.db.ph, self.name)
        return stored

    def write(
        self, records: Sequence[Record], reject: Callable[[Record, Exception], None], skip: Collection[Record] = ()
    ) -> None:
        for record in records:
            if record in skip:
                continue
            try:
                trigger = Envelope.from_json(record.value)
            except Exception as exc:
                reject(record, exc)
                continue
            for reaction in self.reactions(trigger):
                self._issue(reaction, trigger)
        with self.db.transaction(self._conn) as conn:
            positions.store(conn, self.db.ph, self.name, self._generation, records)

    def _issue(self, reaction: Reaction, trigger: Envelope) -> None:
        meta = Meta(
            actor=f"automation:{reaction.automation}",
            correlation_id=trigger.correlationid,
            causation_id=trigger.id,
        )
        try:
            for attempt in range(_ATTEMPTS):
                try:
                    self.bus.execute(reaction.command, meta, reaction.idempotency_key(trigger))
                    break
                except ConcurrencyConflict:
                    # A person changed the same aggregate at that moment: decide again.
                    if attempt == _ATTEMPTS - 1:
                        raise
            self.issued += 1
        except DomainError as refused:
            # The world moved on (the contact was merged, the case closed): the rules
            # refuse, nothing is recorded, and the automation has nothing left to do.
            log.warning(
                "%s for %s %s refused: %s (%s)",
                reaction.automation,
                trigger.type,
                trigger.subject,
                refused.detail,
                refused.code,
            )

    def close(self) -> None:
        self._conn.close()
