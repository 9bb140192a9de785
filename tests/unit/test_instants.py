"""One aware-datetime check (``domain.instants``), as strict everywhere: the aggregates,
the envelope, the warehouse rows and the audit all refuse a time without an offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from domain.contact import Contact
from domain.errors import InvalidValue
from domain.instants import is_aware, require_aware
from domain.meta import Meta
from domain.scoring import ScoringRules
from projections.olap import rows
from replay.history import parse_instant
from streams.envelope import parse_time

META = Meta("ana", "corr", "cause")


class NoOffset(tzinfo):
    """A zone that does not know its offset: ``tzinfo`` is set, yet the time is naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


AWARE = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
NAIVE = datetime(2026, 3, 1, 9, 30)
NO_OFFSET = datetime(2026, 3, 1, 9, 30, tzinfo=NoOffset())


def test_only_a_time_that_knows_its_offset_is_aware():
    assert is_aware(AWARE)
    assert not is_aware(NAIVE)
    assert not is_aware(NO_OFFSET)
    assert not is_aware("2026-03-01T09:30:00Z")  # text is not a time yet
    assert require_aware(AWARE) is AWARE
    with pytest.raises(InvalidValue, match="^due_at needs a time zone$"):
        require_aware(NO_OFFSET, "due_at")


@pytest.mark.parametrize("moment", [NAIVE, NO_OFFSET], ids=["naive", "no offset"])
def test_a_contact_refuses_a_time_without_an_offset(moment):
    contact = Contact.create(name="Ada", meta=META)
    with pytest.raises(InvalidValue, match="^occurred_at needs a time zone$"):
        contact.record_interaction("call", moment, {}, ScoringRules(), META)
    with pytest.raises(InvalidValue, match="^at needs a time zone$"):
        contact.give_consent("web form", moment, META)


def test_the_envelope_and_the_warehouse_refuse_a_time_without_a_zone():
    with pytest.raises(ValueError, match="time without zone"):
        parse_time("2026-03-01T09:30:00")
    with pytest.raises(ValueError, match="time without zone"):
        rows.utc(NO_OFFSET)
    assert rows.utc("2026-03-01T10:30:00+01:00") == NAIVE


def test_the_audit_asks_for_a_zone_with_an_example():
    with pytest.raises(InvalidValue, match=r"needs a time zone \(for example 2026-03-01T00:00:00Z\)"):
        parse_instant("2026-03-01T09:30:00")
    assert parse_instant("2026-03-01T10:30:00+01:00") == AWARE
