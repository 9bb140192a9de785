"""Wires a rebuild: where to replay from (Kafka while it still holds every event, else the
event store), then the projection's rebuild service (``replay.rebuild``)."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager

from crm.wiring import Container
from projections.oltp import schema
from replay.rebuild import KafkaReplay, Progress, RebuildReport, Replay, StoreReplay
from streams import kafka, topics

#: ``--from`` of ``crm projections rebuild``.
ORIGINS = ("auto", "kafka", "store")


def replay_for(container: Container, name: str, origin: str = "auto") -> Replay:
    """``store``: the event store. ``kafka``: Kafka from offset 0. ``auto``: Kafka while no
    partition lost records to retention, else the event store."""
    settings = container.settings
    from_store = StoreReplay(container.store)
    if not settings.uses_kafka or origin == "store":
        return from_store
    container.ensure_topics()
    names = topics.all_topics(settings.kafka_topic_prefix)
    held = kafka.held(container.kafka_clients, names)
    if origin == "kafka" or all(h.first == 0 for h in held.values()):
        group = f"{settings.kafka_topic_prefix}.rebuild.{name}.{uuid.uuid4().hex[:8]}"
        return KafkaReplay(container.kafka_clients, names, group, expected=sum(h.end for h in held.values()))
    return from_store


def rebuild(container: Container, name: str, origin: str = "auto", progress: Progress | None = None) -> RebuildReport:
    """Rebuilds the projection ``name`` of the container's read models (see ``replay.rebuild``)."""
    if name == "oltp":
        # The switch renames the live tables: on a database no projector has written yet,
        # they must exist first.
        schema.ensure(container.oltp)
    with closing(replay_for(container, name, origin)) as replay, _startup_objects_left_out_of_gc():
        return container.rebuilder(name).run(replay, progress)


@contextmanager
def _startup_objects_left_out_of_gc() -> Iterator[None]:
    """A replay allocates objects by the million, and each of Python's full collections
    walks every object the process holds: its modules, classes and wiring, hundreds of
    thousands that never become garbage (some 10 µs of CPU per event of a warehouse rebuild).
    Frozen for the replay (``gc.freeze``), they are left out; unfrozen after, garbage
    among them is collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
