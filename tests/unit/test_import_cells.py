"""A row's cells become the values its command takes: given cells that are empty or only
white space (of any script), then they are no value; given text for a text field, then it
is taken exactly as written (surrounding spaces included, as the aggregates expect to trim
it themselves); given text for a typed field, then it is parsed; given a JSON value that
is not text, then it goes to its parser as it is."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from commands.importing.kinds import KINDS
from commands.importing.mapping import ColumnMapping, resolve
from domain.errors import InvalidValue

#: Every character ``str.strip`` removes: a cell of them only is empty.
SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if not chr(c).strip())


def interactions() -> ColumnMapping:
    return resolve(
        KINDS["interactions"],
        ["Id", "Person", "Activity", "When", "Score", "Note"],
        {
            "external_id": "Id",
            "contact_external_id": "Person",
            "type": "Activity",
            "occurred_at": "When",
            "details.nps": "Score",
            "details.note": "Note",
        },
    )


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u00a0", "\u2003\u3000", SPACES])
def test_cells_of_white_space_only_are_no_value(blank: str) -> None:
    mapping = resolve(KINDS["contacts"], ["Id", "Name", "Email"], {"external_id": "Id", "name": "Name"})
    values = mapping.values({"Id": "C1", "Name": "Ada", "email": blank, "Email": blank})
    assert values == {"external_id": "C1", "name": "Ada"}
    same_names = resolve(KINDS["contacts"], ["external_id", "name", "email"])
    assert same_names.values({"external_id": blank, "name": blank, "email": blank}) == {}


def test_text_is_taken_as_written_and_typed_cells_are_parsed() -> None:
    values = interactions().values(
        {"Id": " A1 ", "Person": "C1", "Activity": "call\u00a0", "When": "2025-03-01T09:30:00Z", "Score": " 9 "}
    )
    assert values == {
        "external_id": " A1 ",
        "contact_external_id": "C1",
        "type": "call\u00a0",
        "occurred_at": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        "details.nps": 9,
    }


def test_values_that_are_not_text_go_to_their_parsers() -> None:
    mapping = resolve(KINDS["contacts"], None, {})
    values = mapping.values({"external_id": 17, "name": "Ada", "phone": 4420, "tags": ["vip", "partner"]})
    assert values == {"external_id": "17", "name": "Ada", "phone": "4420", "tags": ("vip", "partner")}
    with pytest.raises(InvalidValue):
        mapping.values({"external_id": "C1", "name": True})
