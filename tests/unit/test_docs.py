"""The documents a user reads name what the code really has."""

import importlib
import pkgutil
from pathlib import Path

import domain
from domain.errors import DomainError, InvalidValue, RuleViolation
from domain.registry import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def test_the_kafka_contract_names_every_event_type():
    doc = (ROOT / "docs" / "KAFKA.md").read_text()
    assert [t for t in EVENT_TYPES if f"`{t}`" not in doc] == []


def test_the_readme_names_every_rule_code():
    codes = set()
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, RuleViolation) and value is not RuleViolation:
                codes.add(value.code)
    readme = (ROOT / "README.md").read_text()
    assert codes and [c for c in sorted(codes) if f"`{c}`" not in readme] == []
    assert issubclass(InvalidValue, DomainError) and "`validation_error`" in readme
