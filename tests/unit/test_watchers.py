"""A deadline watcher reads its stream from the beginning at every start: one record it
cannot read must not stop it there for good."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from automations.deadline_watch import DeadlineWatcher
from streams.envelope import from_domain_event
from streams.records import Channel, Record
from tests.every_event import every_event


class Replayed:
    """A stream of fixed records, as a source hands them over."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None: ...

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        taken, self.records = self.records[:max_records], self.records[max_records:]
        return taken

    def caught_up(self) -> bool:
        return not self.records

    def committed(self, positions: Mapping[Channel, int]) -> None: ...

    def close(self) -> None: ...


def record(offset: int, value: bytes) -> Record:
    return Record("crm.contract.events", 0, offset, None, value)


def test_an_unreadable_record_is_skipped_and_the_watcher_goes_on():
    envelopes = [from_domain_event(e, n) for n, e in enumerate(every_event(), start=1)]
    signed = next(e for e in envelopes if e.type == "crm.contract.signed.v1")
    scheduled = next(e for e in envelopes if e.type == "crm.activity.scheduled.v1")
    broken: dict[str, Any] = json.loads(signed.to_json())
    del broken["data"]["ends_on"]
    records = [
        record(0, b"not json"),
        record(1, json.dumps(broken).encode()),
        record(2, signed.to_json()),
        record(3, scheduled.to_json()),
    ]
    watcher = DeadlineWatcher(bus=None, source=Replayed(records), clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    watcher.catch_up(deadline=5)
    assert list(watcher.contracts) == [UUID(signed.subject)]
    assert list(watcher.activities) == [UUID(scheduled.subject)]
