"""The rules that are configuration, not code, handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from domain.scoring import ScoringRules
from domain.sla import SlaPolicy


@dataclass(frozen=True)
class CommandConfig:
    scoring_rules: ScoringRules = field(default_factory=ScoringRules)
    sla_policy: SlaPolicy = field(default_factory=SlaPolicy)
    #: A case from the same person about the same subject within this time of an earlier
    #: one is linked to it as a duplicate.
    duplicate_window: timedelta = timedelta(days=3)
    #: The open cases an agent holds before routing passes them by, until they register
    #: a capacity of their own.
    agent_capacity: int = 20
