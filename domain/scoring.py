"""Lead scoring: how many points an interaction is worth. Configuration, not code."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Every interaction type a contact's history may hold, in the order the API lists them.
INTERACTION_TYPES = (
    "email_sent",
    "email_opened",
    "email_clicked",
    "page_visited",
    "content_downloaded",
    "form_submitted",
    "call",
    "meeting",
    "survey_answered",
    "purchase",
)

DEFAULT_POINTS: Mapping[str, int] = MappingProxyType({"email_opened": 10, "page_visited": 20, "content_downloaded": 40})


@dataclass(frozen=True)
class ScoringRules:
    """Points per interaction type; types without a rule are worth nothing. Negative
    points are allowed (an unsubscribe may lower a score)."""

    points: Mapping[str, int] = field(default_factory=lambda: DEFAULT_POINTS)

    def __post_init__(self) -> None:
        unknown = set(self.points).difference(INTERACTION_TYPES)
        if unknown:
            raise ValueError(f"scoring rules name unknown interaction types: {sorted(unknown)}")

    def points_for(self, interaction_type: str) -> int:
        return self.points.get(interaction_type, 0)
