"""The rules that are configuration, not code, handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.scoring import ScoringRules
from domain.sla import SlaPolicy


@dataclass(frozen=True)
class CommandConfig:
    scoring_rules: ScoringRules = field(default_factory=ScoringRules)
    sla_policy: SlaPolicy = field(default_factory=SlaPolicy)
