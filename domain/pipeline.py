"""The Pipeline aggregate: a named, ordered list of the stages a deal goes through.

Every pipeline ends in the implied terminal stages ``won`` (probability 1.0) and ``lost``
(0.0); they are never in the list and their keys are reserved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.meta import Meta

WON = "won"
LOST = "lost"
#: The implied terminal stages and their fixed win probabilities.
TERMINAL_STAGES: dict[str, float] = {WON: 1.0, LOST: 0.0}

_STAGE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class UnknownStage(RuleViolation):
    """The stage is not one of the pipeline's (the Deal aggregate raises it too)."""

    code = "unknown_stage"


class StageExists(RuleViolation):
    code = "stage_exists"


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline. Validates itself, so that every ``Stage`` is a valid one:
    the name is trimmed, the probability becomes a ``float``."""

    key: str
    name: str
    probability: float

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _STAGE_KEY.match(self.key):
            raise InvalidValue(
                f"stage key {self.key!r} must be a lower-case slug "
                "(a letter, then up to 39 letters, digits or underscores)"
            )
        if self.key in TERMINAL_STAGES:
            raise InvalidValue(f"{self.key!r} is reserved: won and lost end every pipeline")
        # object.__setattr__ because the dataclass is frozen; this is its own construction.
        object.__setattr__(self, "name", _require_name(self.name, what="a stage"))
        object.__setattr__(self, "probability", require_probability(self.probability))

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "probability": self.probability}


class Pipeline(Aggregate):
    """Events carry the full new ordered stage list, so a projection may apply one twice
    and still be right."""

    TOPIC = "crm.pipeline"

    class Created(Aggregate.Created):
        TOPIC = "crm.pipeline.created.v1"
        name: str
        stages: list[dict[str, Any]]
        meta: Meta

    class StageAdded(Aggregate.Event):
        TOPIC = "crm.pipeline.stage_added.v1"
        key: str
        name: str
        probability: float
        position: int
        stages: list[dict[str, Any]]
        meta: Meta

    class StageRenamed(Aggregate.Event):
        TOPIC = "crm.pipeline.stage_renamed.v1"
        key: str
        name: str
        stages: list[dict[str, Any]]
        meta: Meta

    class StageProbabilityChanged(Aggregate.Event):
        TOPIC = "crm.pipeline.stage_probability_changed.v1"
        key: str
        probability: float
        stages: list[dict[str, Any]]
        meta: Meta

    class StagesReordered(Aggregate.Event):
        TOPIC = "crm.pipeline.stages_reordered.v1"
        keys: list[str]
        stages: list[dict[str, Any]]
        meta: Meta

    # -- commands: guard, then record ------------------------------------------------

    @classmethod
    def create(cls, *, name: str, stages: Sequence[Stage], meta: Meta) -> Pipeline:
        """At least one stage, keys unique; ``won`` and ``lost`` are implied."""
        stages = list(stages)
        if not stages:
            raise InvalidValue("a pipeline needs at least one stage")
        for stage in stages:
            if not isinstance(stage, Stage):
                raise InvalidValue(f"{stage!r} is not a Stage")
        _require_unique_keys(stage.key for stage in stages)
        return cls(
            name=_require_name(name, what="a pipeline"),
            stages=_as_dicts(stages),
            meta=meta,
        )

    def add_stage(self, stage: Stage, meta: Meta, position: int | None = None) -> None:
        """``position`` is the index in the new list; ``None`` appends (just before the
        implied won/lost). The event records the resolved index."""
        if not isinstance(stage, Stage):
            raise InvalidValue(f"{stage!r} is not a Stage")
        if any(s.key == stage.key for s in self._stages):
            raise StageExists(f"the pipeline already has a stage {stage.key!r}")
        resolved = self._require_position(position)
        new = [*self._stages[:resolved], stage, *self._stages[resolved:]]
        self._stage_added(
            key=stage.key,
            name=stage.name,
            probability=stage.probability,
            position=resolved,
            stages=_as_dicts(new),
            meta=meta,
        )

    def rename_stage(self, key: str, name: str, meta: Meta) -> None:
        index = self._require_index(key)
        cleaned = _require_name(name, what="a stage")
        if self._stages[index].name == cleaned:
            return
        new = list(self._stages)
        new[index] = Stage(key, cleaned, new[index].probability)
        self._stage_renamed(key=key, name=cleaned, stages=_as_dicts(new), meta=meta)

    def set_probability(self, key: str, probability: float, meta: Meta) -> None:
        index = self._require_index(key)
        value = require_probability(probability)
        if self._stages[index].probability == value:
            return
        new = list(self._stages)
        new[index] = Stage(key, new[index].name, value)
        self._stage_probability_changed(key=key, probability=value, stages=_as_dicts(new), meta=meta)

    def reorder(self, keys: Sequence[str], meta: Meta) -> None:
        """``keys`` must name every current stage exactly once."""
        wanted = list(keys)
        current = self.stage_keys
        if len(wanted) != len(current) or set(wanted) != set(current):
            raise InvalidValue(f"a new order must name each stage exactly once: {', '.join(current)}")
        if wanted == current:
            return
        by_key = {s.key: s for s in self._stages}
        new = [by_key[k] for k in wanted]
        self._stages_reordered(keys=wanted, stages=_as_dicts(new), meta=meta)

    # -- reads: pure, record nothing -------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        """The ordered stages, without the implied won/lost."""
        return list(self._stages)

    @property
    def stage_keys(self) -> list[str]:
        return [s.key for s in self._stages]

    @property
    def first_stage(self) -> str:
        return self._stages[0].key

    def has_stage(self, key: str) -> bool:
        """True for the pipeline's stages and for the implied won/lost."""
        return key in TERMINAL_STAGES or any(s.key == key for s in self._stages)

    def probability_of(self, key: str) -> float:
        if key in TERMINAL_STAGES:
            return TERMINAL_STAGES[key]
        for stage in self._stages:
            if stage.key == key:
                return stage.probability
        raise UnknownStage(f"the pipeline has no stage {key!r}")

    # -- guards -----------------------------------------------------------------------

    def _require_index(self, key: str) -> int:
        """Only listed stages can be changed; won and lost are fixed."""
        for index, stage in enumerate(self._stages):
            if stage.key == key:
                return index
        if key in TERMINAL_STAGES:
            raise UnknownStage(f"{key!r} is implied and fixed; it cannot be changed")
        raise UnknownStage(f"the pipeline has no stage {key!r}")

    def _require_position(self, position: int | None) -> int:
        if position is None:
            return len(self._stages)
        if isinstance(position, bool) or not isinstance(position, int):
            raise InvalidValue(f"position {position!r} is not a whole number")
        if not 0 <= position <= len(self._stages):
            raise InvalidValue(f"position must be between 0 and {len(self._stages)}")
        return position

    # -- state changes: only where an event is applied -------------------------------

    @event(Created)
    def __init__(self, name: str, stages: list[dict[str, Any]], meta: Meta) -> None:
        self.name = name
        self._stages = _from_dicts(stages)

    @event(StageAdded)
    def _stage_added(
        self,
        key: str,
        name: str,
        probability: float,
        position: int,
        stages: list[dict[str, Any]],
        meta: Meta,
    ) -> None:
        self._stages = _from_dicts(stages)

    @event(StageRenamed)
    def _stage_renamed(self, key: str, name: str, stages: list[dict[str, Any]], meta: Meta) -> None:
        self._stages = _from_dicts(stages)

    @event(StageProbabilityChanged)
    def _stage_probability_changed(
        self, key: str, probability: float, stages: list[dict[str, Any]], meta: Meta
    ) -> None:
        self._stages = _from_dicts(stages)

    @event(StagesReordered)
    def _stages_reordered(self, keys: list[str], stages: list[dict[str, Any]], meta: Meta) -> None:
        self._stages = _from_dicts(stages)


def require_probability(value: float) -> float:
    """A win probability: a finite number from 0.0 to 1.0 inclusive, as a ``float``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"probability {value!r} is not a number")
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise InvalidValue(f"probability {value!r} must be between 0.0 and 1.0")
    return float(value)


def _require_name(name: str | None, *, what: str) -> str:
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned:
        raise InvalidValue(f"{what} needs a name")
    return cleaned


def _require_unique_keys(keys: Iterable[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise InvalidValue(f"stage key {key!r} appears twice")
        seen.add(key)


def _as_dicts(stages: Iterable[Stage]) -> list[dict[str, Any]]:
    # Fresh dicts every time: an event must never share mutable state with the aggregate.
    return [stage.as_dict() for stage in stages]


def _from_dicts(stages: list[dict[str, Any]]) -> tuple[Stage, ...]:
    return tuple(Stage(**stage) for stage in stages)
