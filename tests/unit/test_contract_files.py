"""The published JSON Schemas are the ones the event classes imply."""

from domain.registry import EVENT_TYPES
from streams import contract


def test_every_event_type_has_a_current_schema_file():
    on_disk = {p.name: p.read_text() for p in contract.SCHEMA_DIR.glob("*.json")}
    assert on_disk == contract.rendered(), "run: python -m streams.contract"
    assert len(on_disk) == len(EVENT_TYPES)
