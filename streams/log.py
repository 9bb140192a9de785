"""The in-process stream of embedded mode: projectors follow the event store's
notification log directly, receiving the same CloudEvents bytes Kafka would carry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from streams.envelope import from_domain_event
from streams.records import Channel, Record

LOG_CHANNEL: Channel = ("log", 0)


class NotificationLogSource:
    def __init__(self, store: Any) -> None:
        """``store`` is the event-store application (its recorder and mapper are used)."""
        self._store = store
        self._after = 0
        self._wake = threading.Event()

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None:
        self._after = positions().get(LOG_CHANNEL, 0)

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        notifications = self._select(max_records)
        if not notifications and timeout > 0:
            self._wake.wait(timeout)
            self._wake.clear()
            notifications = self._select(max_records)
        records = []
        for notification in notifications:
            event, chain = self._store.read_sealed(notification)
            envelope = from_domain_event(event, notification.id, chain)
            records.append(Record("log", 0, notification.id, envelope.subject.encode(), envelope.to_json(), envelope))
        if records:
            self._after = records[-1].offset
        return records

    def _select(self, limit: int) -> list[Any]:
        return list(self._store.recorder.select_notifications(start=self._after, limit=limit, inclusive_of_start=False))

    def caught_up(self) -> bool:
        return self._after >= (self._store.recorder.max_notification_id() or 0)

    def notify(self) -> None:
        """Something was written: stop waiting."""
        self._wake.set()

    def committed(self, positions: Mapping[Channel, int]) -> None:
        pass

    def close(self) -> None:
        self._wake.set()
