"""The SLA watcher: knows every open case's deadlines by following case events, and
records a breach when a deadline passes unmet (see automations/watcher.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from automations.watcher import StreamWatcher
from commands.bus import CommandBus
from commands.case import RecordSlaBreach
from domain.errors import DomainError
from domain.meta import Meta
from streams.envelope import Envelope, parse_time
from streams.records import Source

log = logging.getLogger(__name__)


@dataclass
class CaseClock:
    first_response_due: datetime
    resolution_due: datetime
    responded: bool = False
    resolved: bool = False
    closed: bool = False
    breached: set[str] = field(default_factory=set)

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        if self.closed:
            return []
        found = []
        if not self.responded and "first_response" not in self.breached and now > self.first_response_due:
            found.append(("first_response", self.first_response_due))
        if not self.resolved and "resolution" not in self.breached and now > self.resolution_due:
            found.append(("resolution", self.resolution_due))
        return found


class SlaWatcher(StreamWatcher):
    name = "SLA watcher"

    def __init__(
        self, bus: CommandBus, source: Source, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(bus, source, clock)
        self.cases: dict[UUID, CaseClock] = {}

    def apply(self, e: Envelope) -> None:
        if e.aggregate_type != "case":
            return
        case_id, data, kind = UUID(e.subject), e.data, e.type.split(".")[2]
        if kind == "opened":
            self.cases[case_id] = CaseClock(parse_time(data["first_response_due"]), parse_time(data["resolution_due"]))
            return
        clock = self.cases.get(case_id)
        if clock is None:
            return
        if kind == "responded":
            clock.responded = True
        elif kind == "resolved":
            clock.resolved = True
        elif kind == "reopened":
            clock.resolved = False
        elif kind in ("closed", "duplicate_linked"):  # a duplicate is closed as it opens
            clock.closed = True
            del self.cases[case_id]
        elif kind == "priority_changed":
            clock.first_response_due = parse_time(data["first_response_due"])
            clock.resolution_due = parse_time(data["resolution_due"])
        elif kind == "sla_breached":
            clock.breached.add(data["kind"])

    def tick(self) -> int:
        """Records every breach due now; answers how many it recorded."""
        now = self.clock()
        recorded = 0
        for case_id, clock in list(self.cases.items()):
            for kind, due in clock.due(now):
                meta = Meta(
                    "automation:sla_watch",
                    correlation_id=str(case_id),
                    causation_id=f"sla-watch:{kind}:{due.isoformat()}",
                )
                key = f"sla:{case_id}:{kind}:{due.isoformat()}"
                try:
                    self.bus.execute(RecordSlaBreach(case_id, kind, at=now), meta, key)
                    recorded += 1
                except DomainError as refused:
                    log.warning("breach of %s for case %s not recorded: %s", kind, case_id, refused.detail)
                clock.breached.add(kind)  # its own event will say so too; don't ask twice
        return recorded
