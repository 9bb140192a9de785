"""History entries, their summaries and export formats, without I/O."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification

from domain.case import Case
from domain.contact import Contact
from domain.deal import Deal
from domain.errors import InvalidValue
from domain.integrity import payload
from domain.meta import Meta
from replay.exports import csv_text, json_array
from replay.history import CSV_COLUMNS, entry, jsonable, parse_instant
from streams.summaries import duration, summary

META = Meta("ana", "corr", "cause")
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(cls, version: int = 2, **fields):
    """A decoded event as the mapper hands it over."""
    obj = object.__new__(cls)
    state = {"originator_id": uuid4(), "originator_version": version, "timestamp": AT, "meta": META, **fields}
    object.__setattr__(obj, "__dict__", state)
    return obj


def summarise(decoded) -> str:
    """The summary an audit entry shows: from the event's content in its JSON form."""
    return summary(type(decoded).TOPIC, payload(decoded))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(40, "40 seconds"), (12 * 60, "12 minutes"), (5 * 3600, "5.0 hours"), (3.2 * 86400, "3.2 days")],
)
def test_durations_read_like_people_say_them(seconds, text):
    assert duration(seconds) == text


def test_summaries_state_facts_from_the_event():
    moved = event(
        Deal.StageChanged, from_stage="qualify", to_stage="proposal", probability=0.5, seconds_in_stage=276480, at=AT
    )
    assert summarise(moved) == "Deal moved from qualify to proposal after 3.2 days"
    scored = event(
        Contact.InteractionRecorded,
        interaction_type="email_opened",
        occurred_at=AT,
        details={},
        points=10,
        lead_score=40,
    )
    assert summarise(scored) == "Email opened: +10 points, score 40"
    resolved = event(
        Case.Resolved,
        resolution="[erased]",
        seconds_to_resolution=600,
        resolution_met=True,
        first_contact_resolution=True,
        responses=1,
        at=AT,
    )
    assert summarise(resolved) == "Case resolved at first contact after 10 minutes, within its deadline"
    won = event(
        Deal.Won,
        amount=Decimal("1200.00"),
        currency="EUR",
        closed_on=AT.date(),
        from_stage="proposal",
        seconds_in_stage=86400 * 2,
        at=AT,
    )
    assert summarise(won) == "Deal won from proposal after 2.0 days: 1200.00 EUR, closed on 2026-03-02"


def test_summaries_never_show_personal_fields_or_free_text():
    changed = event(
        Contact.DetailsChanged, changes={"name": "Grace Hopper", "email": "grace@navy.example", "owner": "ben"}
    )
    assert summarise(changed) == "Details changed: email; name; owner → ben"
    opened = event(
        Case.Opened,
        version=1,
        contact_id=uuid4(),
        subject="My husband Bob can't log in",
        priority="high",
        channel="email",
        status="new",
        first_response_due=AT,
        resolution_due=AT,
        at=AT,
    )
    assert "Bob" not in summarise(opened)
    lost = event(Deal.Lost, reason="Grace went to a competitor", from_stage="proposal", seconds_in_stage=60, at=AT)
    assert "Grace" not in summarise(lost)


def test_an_entry_carries_who_why_and_the_business_time():
    scored = event(
        Contact.InteractionRecorded,
        interaction_type="call",
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        details={"note": "[erased]"},
        points=0,
        lead_score=0,
    )
    notification = Notification(
        id=17,
        originator_id=scored.originator_id,
        originator_version=2,
        topic=Contact.InteractionRecorded.TOPIC,
        state=b"",
    )
    item = entry(notification, scored)
    assert (item.position, item.aggregate_type, item.version, item.type) == (
        17,
        "contact",
        2,
        "crm.contact.interaction_recorded.v1",
    )
    assert (item.actor, item.correlation_id, item.causation_id) == ("ana", "corr", "cause")
    assert item.occurred_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert item.summary == summary(item.type, item.data) == "Call"
    assert item.data == {
        "interaction_type": "call",
        "occurred_at": "2026-03-01T00:00:00Z",
        "details": {"note": "[erased]"},
        "points": 0,
        "lead_score": 0,
    }
    [parsed] = json.loads("".join(json_array([item])))
    assert parsed["time"] == "2026-03-02T09:00:00Z" and parsed["data"]["details"] == {"note": "[erased]"}
    rows = list(csv.reader(io.StringIO("".join(csv_text([item, item])))))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 3 and rows[1][0] == "17"
    assert json.loads("".join(json_array([]))) == []


def test_times_need_a_zone():
    assert parse_instant("2026-03-01T09:30:00Z") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parse_instant("2026-03-01T10:30:00+01:00") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    for bad in ("2026-03-01T09:30:00", "2026-03-01", "soon"):
        with pytest.raises(InvalidValue):
            parse_instant(bad)


def test_json_values_keep_amounts_exact():
    assert jsonable({"amount": Decimal("0.10"), "ids": (uuid4(),), "on": AT.date()})["amount"] == "0.10"


def test_the_audit_guide_explains_every_column():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md").read_text()
    assert [c for c in CSV_COLUMNS if f"`{c}`" not in guide] == []


def test_csv_cells_never_become_spreadsheet_formulas():
    meta = Meta('=HYPERLINK("http://evil")', "+1", "cmd-1")
    created = event(Contact.Erased, version=3, reason=None, at=AT)
    object.__setattr__(created, "__dict__", {**created.__dict__, "meta": meta})
    notification = Notification(id=1, originator_id=created.originator_id, originator_version=3, topic="t", state=b"")
    [_, row] = list(csv.reader(io.StringIO("".join(csv_text([entry(notification, created)])))))
    by_column = dict(zip(CSV_COLUMNS, row, strict=True))
    assert (by_column["actor"], by_column["correlation_id"], by_column["causation_id"]) == (
        '\'=HYPERLINK("http://evil")',
        "'+1",
        "cmd-1",
    )
