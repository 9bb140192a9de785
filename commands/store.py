"""The event store: an ``eventsourcing`` application on SQLite or PostgreSQL.

One transaction writes an aggregate's new events and their place in the notification
log, which is the outbox the relay publishes from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Recording, Transcoding
from eventsourcing.utils import register_topic

from domain.contact import Contact
from domain.meta import Meta
from domain.registry import AGGREGATES, EVENT_TYPES


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, str]) -> Meta:
        return Meta(**data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _register_stable_topics() -> None:
    for cls in (*AGGREGATES.values(), *EVENT_TYPES.values()):
        register_topic(cls.TOPIC, cls)


class CrmEventStore(Application):
    """``save`` returns recordings whose notification ids are the events' positions."""

    name = "eventcrm"
    #: Long interaction histories load from a snapshot plus the events after it.
    snapshotting_intervals: ClassVar[dict[type, int]] = {Contact: 100}

    def __init__(self, url: str, cache_size: int = 10_000, pool_size: int = 10) -> None:
        _register_stable_topics()
        self._listeners: list[Callable[[], None]] = []
        # Recently used aggregates stay in memory and are brought up to date with one query
        # for newer events (fast-forward), so a write by another process is never missed.
        super().__init__(env={**persistence_env(url, pool_size), "AGGREGATE_CACHE_MAXSIZE": str(cache_size)})

    def on_saved(self, listener: Callable[[], None]) -> None:
        """Calls ``listener`` after each save, so in-process followers need not poll."""
        self._listeners.append(listener)

    def _notify(self, recordings: list[Recording[Any]]) -> None:
        for listener in self._listeners:
            listener()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())
        transcoder.register(DateAsISO())


def persistence_env(url: str, pool_size: int = 10) -> dict[str, Any]:
    """``sqlite:///path/events.sqlite`` or ``postgresql://user:pass@host:port/db`` → the
    environment ``eventsourcing`` reads its persistence settings from."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc:  # sqlite://relative/path
            path = parts.netloc + path
        if not path:
            raise ValueError(f"event store URL {url!r} names no file")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "APPLICATION_RECORDER_TOPIC": "commands.idempotency:SQLiteCommandRecorder",
        }
    if parts.scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or ""),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_DBNAME": parts.path.lstrip("/") or "crm",
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_LOCK_TIMEOUT": "5",
            "APPLICATION_RECORDER_TOPIC": "commands.idempotency:PostgresCommandRecorder",
        }
    raise ValueError(f"event store URL must start with sqlite:// or postgresql://, got {url!r}")
