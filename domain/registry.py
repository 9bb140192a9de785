"""Every event type by its stable name (``crm.<aggregate>.<event>.v<N>``).

The name is also the topic under which the event store records the event, so renaming
or moving a class never breaks replay; the event store registers these names at start.
"""

from domain.contact import Contact

AGGREGATES: dict[str, type] = {"contact": Contact}

EVENT_TYPES: dict[str, type] = {
    cls.TOPIC: cls
    for cls in (
        Contact.Created,
        Contact.DetailsChanged,
        Contact.InteractionRecorded,
    )
}


def aggregate_type_of(event_type: str) -> str:
    """``crm.contact.created.v1`` → ``contact``."""
    prefix, aggregate, *_ = event_type.split(".")
    if prefix != "crm" or aggregate not in AGGREGATES:
        raise KeyError(f"not a CRM event type: {event_type!r}")
    return aggregate
