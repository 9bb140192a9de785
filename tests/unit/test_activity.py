"""The Activity aggregate: scheduling, reminders, overdue, completion."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.activity import Activity, ActivityClosed, ActivityNotDue
from domain.errors import InvalidValue
from domain.meta import Meta

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
CONTACT = UUID("00000000-0000-4000-8000-00000000c001")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(days=1)


def call(**kwargs) -> Activity:
    given = {
        "kind": "call",
        "subject": "Follow up on the demo",
        "regarding_type": "contact",
        "regarding_id": CONTACT,
        "owner": "ana.sales",
        "due_at": DUE,
        "reminders": [15, 60],
        **kwargs,
    }
    return Activity.schedule(at=T0, meta=META, **given)


def test_an_activity_is_a_known_kind_about_a_contact_deal_or_case():
    for bad in ({"kind": "lunch"}, {"regarding_type": "account"}, {"reminders": [-5]}, {"owner": "  "}):
        with pytest.raises(InvalidValue):
            call(**bad)
    with pytest.raises(InvalidValue):
        call(due_at=datetime(2026, 3, 3, 9))  # no time zone


def test_each_reminder_is_recorded_once_when_it_falls_due():
    activity = call()
    assert activity.remind(DUE - timedelta(minutes=61), META) == []
    assert activity.remind(DUE - timedelta(minutes=60), META) == [60]
    assert activity.remind(DUE - timedelta(minutes=30), META) == []
    assert activity.remind(DUE, META) == [15]
    activity.reschedule(DUE + timedelta(days=1), DUE, META)
    assert activity.remind(DUE + timedelta(days=1), META) == [60, 15]  # due again before the new time


def test_overdue_once_after_the_due_time_and_cleared_by_a_later_due_time():
    activity = call()
    with pytest.raises(ActivityNotDue):
        activity.mark_overdue(DUE, META)
    activity.mark_overdue(DUE + timedelta(seconds=1), META)
    with pytest.raises(ActivityNotDue):
        activity.mark_overdue(DUE + timedelta(hours=1), META)
    activity.reschedule(DUE + timedelta(days=2), DUE + timedelta(hours=2), META)
    assert activity.overdue is False
    activity.mark_overdue(DUE + timedelta(days=3), META)
    activity.complete("called, will buy", DUE + timedelta(days=3), META)
    assert activity.collect_events()[-1].was_overdue is True


def test_an_activity_is_completed_once_and_never_changed_after():
    activity = call()
    activity.complete(None, T0, META)
    for again in (
        lambda: activity.complete("twice", T0, META),
        lambda: activity.cancel("no longer needed", T0, META),
        lambda: activity.reschedule(DUE + timedelta(days=1), T0, META),
        lambda: activity.reassign("ben.sales", T0, META),
        lambda: activity.mark_overdue(DUE + timedelta(days=1), META),
        lambda: activity.remind(DUE, META),
    ):
        with pytest.raises(ActivityClosed):
            again()
    cancelled = call()
    with pytest.raises(InvalidValue):
        cancelled.cancel(None, T0, META)
    cancelled.cancel("meeting moved to a call", T0, META)
    with pytest.raises(ActivityClosed):
        cancelled.complete(None, T0, META)


def test_an_activity_rebuilt_from_its_events_equals_the_live_one():
    activity = call(kind="meeting")
    activity.remind(DUE - timedelta(minutes=60), META)
    activity.reassign("ben.sales", T0, META)
    activity.mark_overdue(DUE + timedelta(minutes=1), META)
    activity.complete("done", DUE + timedelta(minutes=5), META)
    rebuilt = None
    for recorded in activity.collect_events():
        rebuilt = recorded.mutate(rebuilt)
    assert rebuilt.__dict__ == activity.__dict__
