"""Where events that a projection cannot process go, with the error, so that the
projection carries on and someone can look at them: the ``crm.deadletter`` topic, or in
embedded mode a JSON-lines file in the data folder."""

from __future__ import annotations

import json
import os
import threading
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kafka import KafkaProducer

from streams.records import Record


class DeadLetters(Protocol):
    def send(self, projection: str, record: Record, error: BaseException) -> None:
        """Returns once the dead letter is durable; raises otherwise (the batch then fails)."""


def letter(projection: str, record: Record, error: BaseException) -> dict[str, Any]:
    return {
        "projection": projection,
        "source": record.source,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode(errors="replace") if record.key else None,
        "value": record.value.decode(errors="replace"),
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(error))[-4000:],
        "failed_at": datetime.now(UTC).isoformat(),
    }


class KafkaDeadLetters:
    def __init__(self, client: Mapping[str, Any], topic: str) -> None:
        self.topic = topic
        self._producer = KafkaProducer(**client, acks="all", enable_idempotence=True)

    def send(self, projection: str, record: Record, error: BaseException) -> None:
        body = letter(projection, record, error)
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

    def send(self, projection: str, record: Record, error: BaseException) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(letter(projection, record, error)) + "\n"
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
