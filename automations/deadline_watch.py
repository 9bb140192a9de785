"""The deadline watcher for sales work: follows contract, activity and quote events and,
when their time comes, opens a contract's renewal deal, records a lapsed contract, sends
an activity's reminders, marks an activity overdue and expires a quote past its validity
(see automations/watcher.py for how it follows and why repeats are harmless)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from automations.watcher import StreamWatcher
from commands.activity import MarkActivityOverdue, RemindActivity
from commands.bus import CommandBus
from commands.contract import LapseContract, OpenContractRenewal
from commands.quote import ExpireQuote
from domain.errors import DomainError
from domain.meta import Meta
from streams.envelope import Envelope, parse_time
from streams.records import Source

log = logging.getLogger(__name__)


@dataclass
class ContractTerm:
    ends_on: date
    renewal_days: int
    renewal_open: bool = False

    @property
    def renewal_due_on(self) -> date:
        return self.ends_on - timedelta(days=self.renewal_days)


@dataclass
class ActivityClock:
    due_at: datetime
    reminders: list[int]
    reminded: set[int] = field(default_factory=set)
    overdue: bool = False

    def reminders_due(self, now: datetime) -> bool:
        return any(m not in self.reminded and now >= self.due_at - timedelta(minutes=m) for m in self.reminders)


class DeadlineWatcher(StreamWatcher):
    name = "deadline watcher"

    def __init__(
        self,
        bus: CommandBus,
        source: Source,
        renewal_pipeline: UUID | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Without ``renewal_pipeline`` no renewal deal is opened (contracts still lapse)."""
        super().__init__(bus, source, clock)
        self.renewal_pipeline = renewal_pipeline
        self.contracts: dict[UUID, ContractTerm] = {}
        self.activities: dict[UUID, ActivityClock] = {}
        self.quotes: dict[UUID, date] = {}

    def apply(self, e: Envelope) -> None:
        kind = e.type.split(".")[2]
        subject, data = UUID(e.subject), e.data
        if e.aggregate_type == "contract":
            self._contract(subject, kind, data)
        elif e.aggregate_type == "activity":
            self._activity(subject, kind, data)
        elif e.aggregate_type == "quote":
            if kind == "sent":
                self.quotes[subject] = date.fromisoformat(data["valid_until"])
            elif kind in ("accepted", "rejected", "expired", "revised"):
                self.quotes.pop(subject, None)

    def _contract(self, subject: UUID, kind: str, data: dict) -> None:
        if kind == "signed":
            self.contracts[subject] = ContractTerm(date.fromisoformat(data["ends_on"]), data["renewal_days"])
            return
        term = self.contracts.get(subject)
        if term is None:
            return
        if kind == "amended":
            changes = data["changes"]
            if "ends_on" in changes:
                term.ends_on = date.fromisoformat(changes["ends_on"])
            if "renewal_days" in changes:
                term.renewal_days = changes["renewal_days"]
        elif kind == "renewal_opened":
            term.renewal_open = True
        elif kind == "renewed":
            term.ends_on, term.renewal_open = date.fromisoformat(data["ends_on"]), False
        elif kind in ("terminated", "lapsed"):
            del self.contracts[subject]

    def _activity(self, subject: UUID, kind: str, data: dict) -> None:
        if kind == "scheduled":
            self.activities[subject] = ActivityClock(parse_time(data["due_at"]), list(data["reminders"]))
            return
        clock = self.activities.get(subject)
        if clock is None:
            return
        if kind == "rescheduled":
            clock.due_at, clock.reminded = parse_time(data["due_at"]), set()
            clock.overdue = clock.overdue and clock.due_at <= parse_time(data["at"])
        elif kind == "reminded":
            clock.reminded.add(data["minutes_before"])
        elif kind == "became_overdue":
            clock.overdue = True
        elif kind in ("completed", "cancelled"):
            del self.activities[subject]

    def tick(self) -> int:
        now = self.clock()
        issued = 0
        for contract_id, term in list(self.contracts.items()):
            if now.date() > term.ends_on:
                issued += self._issue(LapseContract(contract_id, at=now), f"lapse:{contract_id}:{term.ends_on}")
                del self.contracts[contract_id]
            elif not term.renewal_open and now.date() >= term.renewal_due_on and self.renewal_pipeline is not None:
                command = OpenContractRenewal(contract_id, self.renewal_pipeline, at=now)
                issued += self._issue(command, f"renewal:{contract_id}:{term.ends_on}")
                term.renewal_open = True  # its own event will say so too; don't ask twice
        for activity_id, clock in self.activities.items():
            if clock.reminders_due(now):
                issued += self._issue(RemindActivity(activity_id, at=now), f"remind:{activity_id}:{now.isoformat()}")
                clock.reminded.update(m for m in clock.reminders if now >= clock.due_at - timedelta(minutes=m))
            if not clock.overdue and now > clock.due_at:
                issued += self._issue(MarkActivityOverdue(activity_id, at=now), f"overdue:{activity_id}:{clock.due_at}")
                clock.overdue = True
        for quote_id, valid_until in list(self.quotes.items()):
            if now.date() > valid_until:
                issued += self._issue(ExpireQuote(quote_id, at=now), f"expire:{quote_id}:{valid_until}")
                del self.quotes[quote_id]
        return issued

    def _issue(self, command: object, key: str) -> int:
        meta = Meta("automation:deadline_watch", correlation_id=key, causation_id=f"deadline-watch:{key}")
        try:
            self.bus.execute(command, meta, f"deadline:{key}")
            return 1
        except DomainError as refused:
            # The world moved on (renewed in time, completed, answered): nothing to record.
            log.warning("%s not recorded: %s (%s)", type(command).__name__, refused.detail, refused.code)
            return 0
