"""Runs the reactions as a consumer of the event stream, like a projector whose "rows"
are commands. Its position is stored in the event store's database; a crash between a
command and the position replays the event, and the idempotency key makes that harmless."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from automations.reactions import Reaction, Reactions
from commands.bus import CommandBus
from commands.errors import ConcurrencyConflict
from domain.errors import DomainError
from domain.meta import Meta
from projections import positions
from projections.oltp.db import OltpDatabase
from streams.envelope import Envelope
from streams.records import Channel, Record

log = logging.getLogger(__name__)

_ATTEMPTS = 5


class AutomationWriter:
    name = "automations"

    def __init__(self, bus: CommandBus, reactions: Reactions, db: OltpDatabase) -> None:
        self.bus = bus
        self.reactions = reactions
        self.db = db
        self._conn = db.connect()
        self._conn.execute(positions.DDL)
        self.issued = 0

    def positions(self) -> dict[Channel, int]:
        rows = self._conn.execute(positions.select_sql(self.db.ph), (self.name,)).fetchall()
        return {(source, partition): position for source, partition, position in rows}

    def write(self, records: Sequence[Record]) -> None:
        for record in records:
            trigger = Envelope.from_json(record.value)
            for reaction in self.reactions(trigger):
                self._issue(reaction, trigger)
        with self.db.transaction(self._conn) as conn:
            self.db.executemany(
                conn,
                positions.upsert_sql(self.db.ph),
                positions.upsert_params(self.name, positions.last_offsets(list(records))),
            )

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
