"""``crm projections status``: how far the relay and every projection got, and how much
is still to come."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from crm.wiring import PROJECTIONS, Container
from projections import positions
from projections.olap.snapshots import trace
from projections.oltp.db import OltpDatabase
from streams import kafka, topics
from streams.records import Channel


@dataclass(frozen=True)
class Status:
    name: str
    store: str
    generation: int | None
    position: str
    lag: int | None
    note: str = ""


def _ends(container: Container) -> dict[Channel, int]:
    """The next offset of every channel the projections consume."""
    if not container.settings.uses_kafka:
        return {("log", 0): (container.store.recorder.max_notification_id() or 0) + 1}
    held = kafka.held(container.kafka_clients, topics.all_topics(container.settings.kafka_topic_prefix))
    return {channel: offsets.end for channel, offsets in held.items()}


def _describe(stored: dict[Channel, int]) -> str:
    if not stored:
        return "nothing yet"
    if list(stored) == [("log", 0)]:
        return f"event {stored[('log', 0)]}"
    return ", ".join(f"{t.rsplit('.', 2)[-2]}[{p}]@{o}" for (t, p), o in sorted(stored.items()))


def _sql_status(name: str, db: OltpDatabase, ends: dict[Channel, int]) -> Status:
    conn = db.connect()
    try:
        positions.migrate(conn)
        generation, stored = positions.read(conn, db.ph, name)
    finally:
        conn.close()
    return Status(name, db.kind, generation, _describe(stored), positions.lag(stored, ends))


def statuses(container: Container) -> list[Status]:
    ends = _ends(container)
    result = []
    if container.settings.uses_kafka:
        tracking = container.store.factory.tracking_recorder()
        relayed = tracking.max_tracking_id("relay") or 0
        newest = container.store.recorder.max_notification_id() or 0
        result.append(Status("relay", "event store", None, f"event {relayed}", max(newest - relayed, 0)))
    for name in PROJECTIONS:
        if name == "oltp":
            result.append(_sql_status(name, container.oltp, ends))
            continue
        try:
            cursor = container.olap.cursor()
        except duckdb.IOException:  # another process writes it: its newest snapshot says where it got to
            with container.warehouse.read() as snapshot:
                found = trace(snapshot)
                generation, stored = positions.peek(snapshot, "?", name)
            age = f"snapshot {found.snapshot}, published {found.published_at:%H:%M:%S} UTC" if found.snapshot else ""
            result.append(Status(name, "duckdb", generation, _describe(stored), positions.lag(stored, ends), age))
            continue
        positions.ensure(cursor)
        generation, stored = positions.read(cursor, "?", name)
        result.append(Status(name, "duckdb", generation, _describe(stored), positions.lag(stored, ends)))
    result.append(_sql_status("automations", container.store_database, ends))
    return result
