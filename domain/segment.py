"""Segments: who a campaign is for, as a pure, serialisable rule over contact facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from domain.contact import LIFECYCLE_STAGES
from domain.errors import InvalidValue

_TEXT_LISTS = ("tags_any", "tags_all", "lifecycle_stages", "owners")
_SCORES = ("min_score", "max_score")


@dataclass(frozen=True)
class ContactFacts:
    """What a segment may look at about one contact; the caller reads it from the
    contact's state or read model."""

    tags: frozenset[str]
    lifecycle_stage: str
    owner: str | None
    lead_score: int
    consented: bool
    erased: bool = False
    merged: bool = False


@dataclass(frozen=True)
class Segment:
    """An audience. Every criterion must hold; an empty criterion means "any".

    - ``tags_any``: the contact has at least one of these tags;
    - ``tags_all``: the contact has all of these tags;
    - ``lifecycle_stages`` / ``owners``: the contact's stage / owner is one of these;
    - ``min_score`` / ``max_score``: inclusive bounds on the lead score;
    - ``consent_required``: only contacts who gave marketing consent.

    Erased and merged contacts never match, whatever the criteria. Tags are compared
    lower-case; the constructor normalises them (trimmed, lower-case, deduplicated in
    order), so two segments that select the same tags compare equal.
    """

    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    lifecycle_stages: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    min_score: int | None = None
    max_score: int | None = None
    consent_required: bool = True

    def __post_init__(self) -> None:
        # Frozen: normalised values are set once, here, and never change afterwards.
        set_ = object.__setattr__
        set_(self, "tags_any", _texts("tags_any", self.tags_any, lower=True))
        set_(self, "tags_all", _texts("tags_all", self.tags_all, lower=True))
        set_(self, "owners", _texts("owners", self.owners, lower=False))
        stages = _texts("lifecycle_stages", self.lifecycle_stages, lower=False)
        unknown = [s for s in stages if s not in LIFECYCLE_STAGES]
        if unknown:
            raise InvalidValue(f"unknown lifecycle stage(s) {', '.join(unknown)}; one of {', '.join(LIFECYCLE_STAGES)}")
        set_(self, "lifecycle_stages", stages)
        for name in _SCORES:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidValue(f"{name} must be a whole number or null, got {value!r}")
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise InvalidValue(f"min_score {self.min_score} is above max_score {self.max_score}")
        if not isinstance(self.consent_required, bool):
            raise InvalidValue(f"consent_required must be true or false, got {self.consent_required!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        """The inverse of ``to_dict``; missing keys take their defaults."""
        if not isinstance(data, Mapping):
            raise InvalidValue(f"a segment must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidValue(
                f"unknown segment field(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = dict(data)
        for name in _TEXT_LISTS:
            if name in values:
                # JSON gives lists; a bare string would otherwise be read letter by letter.
                if not isinstance(values[name], list | tuple):
                    raise InvalidValue(f"{name} must be a list of text, got {values[name]!r}")
                values[name] = tuple(values[name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: lists, ints, booleans and nulls only."""
        return {
            "tags_any": list(self.tags_any),
            "tags_all": list(self.tags_all),
            "lifecycle_stages": list(self.lifecycle_stages),
            "owners": list(self.owners),
            "min_score": self.min_score,
            "max_score": self.max_score,
            "consent_required": self.consent_required,
        }

    def matches(self, contact: ContactFacts) -> bool:
        if contact.erased or contact.merged:
            return False
        if self.consent_required and not contact.consented:
            return False
        tags = {tag.lower() for tag in contact.tags}
        if self.tags_any and tags.isdisjoint(self.tags_any):
            return False
        if not tags.issuperset(self.tags_all):
            return False
        if self.lifecycle_stages and contact.lifecycle_stage not in self.lifecycle_stages:
            return False
        if self.owners and contact.owner not in self.owners:
            return False
        if self.min_score is not None and contact.lead_score < self.min_score:
            return False
        if self.max_score is not None and contact.lead_score > self.max_score:
            return False
        return True


def _texts(name: str, values: Iterable[str], *, lower: bool) -> tuple[str, ...]:
    """Trimmed, optionally lower-case, blanks dropped, first occurrence kept in order."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidValue(f"{name} must be a list of text, got {values!r}")
    seen: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            raise InvalidValue(f"{name} must be a list of text, got {value!r} in it")
        cleaned = value.strip()
        if lower:
            cleaned = cleaned.lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)
