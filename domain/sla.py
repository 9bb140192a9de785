"""Service-level agreements for cases: how soon a case of each priority must be answered
and resolved. Configuration, not code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

#: Ordered from least to most pressing; escalation moves one step to the right.
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")

CHANNELS: tuple[str, ...] = ("email", "phone", "chat", "web", "social", "other")

_HOUR = 3600
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class SlaTarget:
    """Both targets in seconds from the moment the case was opened."""

    first_response_seconds: int
    resolution_seconds: int

    def __post_init__(self) -> None:
        for name in ("first_response_seconds", "resolution_seconds"):
            value = getattr(self, name)
            # bool is an int subclass; True seconds is a bug, not a target
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number of seconds, not {value!r}")
        if self.first_response_seconds > self.resolution_seconds:
            raise ValueError(
                "the first-response target cannot be later than the resolution target "
                f"({self.first_response_seconds}s > {self.resolution_seconds}s)"
            )


DEFAULT_TARGETS: Mapping[str, SlaTarget] = MappingProxyType(
    {
        "urgent": SlaTarget(1 * _HOUR, 4 * _HOUR),
        "high": SlaTarget(4 * _HOUR, 24 * _HOUR),
        "normal": SlaTarget(8 * _HOUR, 72 * _HOUR),
        "low": SlaTarget(24 * _HOUR, 168 * _HOUR),
    }
)

DEFAULT_REOPEN_WINDOW_SECONDS = 7 * _DAY


@dataclass(frozen=True)
class SlaPolicy:
    """One target per priority, every priority covered. ``reopen_window_seconds`` is how
    long after resolution a case may still be reopened (0: never after the instant of
    resolution)."""

    targets: Mapping[str, SlaTarget] = field(default_factory=lambda: DEFAULT_TARGETS)
    reopen_window_seconds: int = DEFAULT_REOPEN_WINDOW_SECONDS

    def __post_init__(self) -> None:
        missing = [p for p in PRIORITIES if p not in self.targets]
        unknown = sorted(set(self.targets) - set(PRIORITIES))
        if missing or unknown:
            raise ValueError(
                f"an SLA policy needs exactly the priorities {', '.join(PRIORITIES)} "
                f"(missing: {missing}, unknown: {unknown})"
            )
        for priority, target in self.targets.items():
            if not isinstance(target, SlaTarget):
                raise ValueError(f"the target for {priority!r} must be an SlaTarget, not {target!r}")
        window = self.reopen_window_seconds
        if not isinstance(window, int) or isinstance(window, bool) or window < 0:
            raise ValueError(f"reopen_window_seconds must be a whole number >= 0, not {window!r}")
        # a private read-only copy: the caller's dict may change, the policy may not
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))

    @classmethod
    def from_hours(
        cls,
        targets: Mapping[str, tuple[float, float]],
        reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_SECONDS / _HOUR,
    ) -> SlaPolicy:
        """``{"urgent": (1, 4), ...}``: (first response, resolution) in hours."""
        return cls(
            targets={
                priority: SlaTarget(_seconds(first), _seconds(resolution))
                for priority, (first, resolution) in targets.items()
            },
            reopen_window_seconds=_seconds(reopen_window_hours),
        )

    def target(self, priority: str) -> SlaTarget:
        try:
            return self.targets[priority]
        except KeyError:
            raise ValueError(f"unknown priority {priority!r}; one of {', '.join(PRIORITIES)}") from None

    def first_response_due(self, priority: str, opened_at: datetime) -> datetime:
        return opened_at + timedelta(seconds=self.target(priority).first_response_seconds)

    def resolution_due(self, priority: str, opened_at: datetime) -> datetime:
        return opened_at + timedelta(seconds=self.target(priority).resolution_seconds)


def _seconds(hours: float) -> int:
    seconds = hours * _HOUR
    if seconds != int(seconds):
        raise ValueError(f"{hours!r} hours is not a whole number of seconds")
    return int(seconds)
