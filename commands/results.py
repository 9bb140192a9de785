from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class CommandResult:
    """What every command answers: the aggregate, its new version and the event-store
    position of its last event (a reader may wait for a projection to reach it).
    ``repeated`` is true when an Idempotency-Key matched an earlier command."""

    id: UUID
    version: int
    position: int | None
    extra: dict[str, Any] = field(default_factory=dict)
    repeated: bool = False
