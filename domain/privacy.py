"""Which event fields hold personal data (they identify a person, or may as free text),
and whose they are. Those fields are sealed with the person's own key before an event is
recorded; erasing the person deletes the key."""

from __future__ import annotations

from typing import Any

#: Per event type, the personal fields; ``changes.name`` is ``name`` inside ``changes``.
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "crm.contact.created.v1": ("name", "email", "phone"),
    "crm.contact.details_changed.v1": ("changes.name", "changes.email", "changes.phone"),
    "crm.contact.interaction_recorded.v1": ("details.*",),
    "crm.case.opened.v1": ("subject",),
    "crm.case.resolved.v1": ("resolution",),
    "crm.activity.scheduled.v1": ("subject",),
    "crm.activity.completed.v1": ("outcome",),
    "crm.activity.cancelled.v1": ("reason",),
}
#: Keys of an interaction's ``details`` that are structured, not personal: they stay readable
#: (analytics needs them); every other key is free text and is sealed.
STRUCTURED_DETAILS = frozenset({"nps", "ces", "campaign_id", "response", "channel", "amount"})

#: Snapshots of contacts hold the same data as the events they sum up.
SNAPSHOT_FIELDS: dict[str, tuple[str, ...]] = {"crm.contact": ("name", "email", "phone")}

#: What an erased person's sealed fields read as.
ERASED = "[erased]"


def personal_paths(event_type: str) -> tuple[str, ...]:
    return PERSONAL_FIELDS.get(event_type, ())


def locate(state: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """The (holder, key) pairs ``path`` names in ``state``: ``a.b`` is ``b`` inside ``a``;
    ``details.*`` is every key of ``details`` but the structured ones."""
    *parents, last = path.split(".")
    for part in parents:
        child = state.get(part)
        if not isinstance(child, dict):
            return []
        state = child
    if last == "*":
        return [(state, key) for key in state if key not in STRUCTURED_DETAILS]
    return [(state, last)] if last in state else []
