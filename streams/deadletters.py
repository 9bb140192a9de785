"""Where events that a projection cannot process go, with the error, so that the
projection carries on and someone can look at them: the ``crm.deadletter`` topic, or in
embedded mode a JSON-lines file in the data folder."""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from streams.kafka import KafkaClients, partitions_of
from streams.records import Record

#: A dead letter carries at most this much of the record it sets aside: the letter itself
#: must fit on Kafka even when the record was refused for its size.
MAX_VALUE_CHARS = 64 * 1024


class DeadLetters(Protocol):
    def send(
        self, projection: str, record: Record, error: BaseException, extra: Mapping[str, Any] | None = None
    ) -> None:
        """Returns once the dead letter is durable; raises otherwise (the batch then fails).
        ``projection`` names who set it aside (a projection, the relay); ``extra`` adds
        fields to the letter."""


def letter(
    projection: str, record: Record, error: BaseException, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    value = record.value.decode(errors="replace")
    return {
        "projection": projection,
        "source": record.source,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode(errors="replace") if record.key else None,
        "value": value[:MAX_VALUE_CHARS],
        "value_bytes": len(record.value),
        "error": f"{type(error).__name__}: {error}"[:2000],
        "traceback": "".join(traceback.format_exception(error))[-4000:],
        "failed_at": datetime.now(UTC).isoformat(),
        **(extra or {}),
    }


class KafkaDeadLetters:
    def __init__(self, clients: KafkaClients, topic: str) -> None:
        self.topic = topic
        self._producer = clients.producer(acks="all", enable_idempotence=True)

    def send(
        self, projection: str, record: Record, error: BaseException, extra: Mapping[str, Any] | None = None
    ) -> None:
        body = letter(projection, record, error, extra)
        self._producer.send(
            self.topic,
            key=record.key,
            value=json.dumps(body).encode(),
            headers=[("projection", projection.encode()), ("error", body["error"][:500].encode())],
        ).get(timeout=30)

    def close(self) -> None:
        self._producer.close()


class FileDeadLetters:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(
        self, projection: str, record: Record, error: BaseException, extra: Mapping[str, Any] | None = None
    ) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(letter(projection, record, error, extra)) + "\n"
        with self._lock, self.path.open("a") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def close(self) -> None:
        pass


def read_topic(clients: KafkaClients, topic: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every letter on the dead-letter topic, from its beginning."""
    consumer = clients.consumer(group_id=None, enable_auto_commit=False)
    try:
        partitions = partitions_of(consumer, [topic])
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        letters: list[dict[str, Any]] = []
        give_up = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > give_up:
                raise TimeoutError(f"could not read {topic} within {timeout:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                letters += [json.loads(r.value) for r in records]
        return letters
    finally:
        consumer.close()
