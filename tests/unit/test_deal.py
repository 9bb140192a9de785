"""Given / when / then for the Deal aggregate's rules."""

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

import domain.pipeline
from domain.deal import (
    Deal,
    DealClosed,
    DealNotClosed,
    LostReasonRequired,
    UnknownStage,
    UseWinOrLose,
    WinRequiresAmount,
)
from domain.errors import InvalidValue, RuleViolation
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CONTACT = UUID("00000000-0000-4000-8000-000000000001")
ACCOUNT = UUID("00000000-0000-4000-8000-000000000002")
CLOSE_DATE = date(2026, 3, 20)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def new_pipeline() -> Pipeline:
    pipeline = Pipeline.create(
        name="New business",
        stages=[
            Stage("lead", "Lead", 0.1),
            Stage("qualified", "Qualified", 0.3),
            Stage("proposal", "Proposal", 0.6),
        ],
        meta=META,
    )
    pipeline.collect_events()
    return pipeline


PIPELINE = new_pipeline()


def new_deal(pipeline: Pipeline = PIPELINE, **fields) -> Deal:
    fields.setdefault("contact_id", CONTACT)
    deal = Deal.create(pipeline=pipeline, title=fields.pop("title", "Ten seats"), meta=META, at=T0, **fields)
    deal.collect_events()
    return deal


def won_deal() -> Deal:
    deal = new_deal()
    deal.move_to("proposal", PIPELINE, hours(1), META)
    deal.win(Decimal("1200.00"), CLOSE_DATE, hours(2), META)
    deal.collect_events()
    return deal


def lost_deal() -> Deal:
    deal = new_deal()
    deal.move_to("qualified", PIPELINE, hours(1), META)
    deal.lose("went with a competitor", hours(3), META)
    deal.collect_events()
    return deal


# -- create ------------------------------------------------------------------------------


def test_created_deal_is_open_in_the_first_stage():
    deal = Deal.create(
        pipeline=PIPELINE,
        title="  Ten seats ",
        meta=META,
        at=T0,
        contact_id=CONTACT,
        amount=Decimal("1000.50"),
        currency=" usd",
        owner=" ana.sales ",
        expected_close_on=CLOSE_DATE,
    )
    [created] = deal.collect_events()
    assert isinstance(created, Deal.Created)
    assert (
        created.pipeline_id,
        created.title,
        created.contact_id,
        created.account_id,
        created.amount,
        created.currency,
        created.owner,
        created.expected_close_on,
        created.stage,
        created.probability,
        created.at,
        created.meta,
    ) == (
        PIPELINE.id,
        "Ten seats",
        CONTACT,
        None,
        Decimal("1000.50"),
        "USD",
        "ana.sales",
        CLOSE_DATE,
        "lead",
        0.1,
        T0,
        META,
    )
    assert (deal.stage, deal.status, deal.probability, deal.is_closed) == (
        "lead",
        "open",
        0.1,
        False,
    )
    assert (deal.entered_stage_at, deal.created_at) == (T0, T0)
    assert (deal.closed_on, deal.lost_reason) == (None, None)
    assert deal.version == 1


def test_deal_defaults_to_euro_and_no_amount():
    deal = Deal.create(pipeline=PIPELINE, title="Renewal", meta=META, at=T0, account_id=ACCOUNT)
    assert (deal.account_id, deal.contact_id) == (ACCOUNT, None)
    assert (deal.amount, deal.currency, deal.owner, deal.expected_close_on) == (
        None,
        "EUR",
        None,
        None,
    )


def test_deal_starts_in_the_pipelines_current_first_stage():
    pipeline = new_pipeline()
    pipeline.reorder(["qualified", "lead", "proposal"], META)
    deal = Deal.create(pipeline=pipeline, title="X", meta=META, at=T0, contact_id=CONTACT)
    assert (deal.stage, deal.probability) == ("qualified", 0.3)


@pytest.mark.parametrize(("contact_id", "account_id"), [(None, None), (CONTACT, ACCOUNT), ("not-an-id", None)])
def test_deal_belongs_to_exactly_one_contact_or_account(contact_id, account_id):
    with pytest.raises(InvalidValue) as refused:
        Deal.create(
            pipeline=PIPELINE,
            title="X",
            meta=META,
            at=T0,
            contact_id=contact_id,
            account_id=account_id,
        )
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize(
    "fields",
    [
        {"title": ""},
        {"title": "   "},
        {"title": None},
        {"amount": Decimal("-0.01")},
        {"amount": 12.5},
        {"amount": Decimal("NaN")},
        {"currency": "EURO"},
        {"currency": "E1R"},
        {"currency": ""},
        {"expected_close_on": datetime(2026, 3, 20, tzinfo=UTC)},
        {"expected_close_on": "2026-03-20"},
        {"at": datetime(2026, 3, 1, 9, 0)},
    ],
)
def test_malformed_deal_is_refused(fields):
    given = {"title": "X", "at": T0, **fields}
    with pytest.raises(InvalidValue) as refused:
        Deal.create(pipeline=PIPELINE, meta=META, contact_id=CONTACT, **given)
    assert refused.value.code == "validation_error"


def test_deal_amount_may_be_zero():
    assert new_deal(amount=Decimal("0")).amount == Decimal("0")


# -- move_to -----------------------------------------------------------------------------


def test_moving_records_the_stage_change_and_time_in_the_stage_left():
    deal = new_deal()
    deal.move_to("qualified", PIPELINE, hours(1.5), META)
    [moved] = deal.collect_events()
    assert isinstance(moved, Deal.StageChanged)
    assert (moved.from_stage, moved.to_stage, moved.probability) == ("lead", "qualified", 0.3)
    assert moved.seconds_in_stage == 5400.0
    assert (moved.at, moved.meta) == (hours(1.5), META)
    assert (deal.stage, deal.probability, deal.entered_stage_at) == ("qualified", 0.3, hours(1.5))
    assert deal.version == 2


def test_seconds_in_stage_count_from_the_last_move_across_several_moves():
    deal = new_deal()
    deal.move_to("qualified", PIPELINE, T0 + timedelta(hours=2), META)
    deal.move_to("proposal", PIPELINE, T0 + timedelta(hours=2, minutes=30), META)
    deal.move_to("lead", PIPELINE, T0 + timedelta(days=3, seconds=1.5), META)
    deal.move_to("proposal", PIPELINE, T0 + timedelta(days=3, seconds=1.5), META)
    deal.win(Decimal("10"), CLOSE_DATE, T0 + timedelta(days=4), META)
    events = deal.collect_events()
    assert [(type(e).__name__, e.seconds_in_stage) for e in events] == [
        ("StageChanged", 7200.0),
        ("StageChanged", 1800.0),
        ("StageChanged", 3 * 86400 + 1.5 - 9000),
        ("StageChanged", 0.0),
        ("Won", 86400 - 1.5),
    ]
    assert sum(e.seconds_in_stage for e in events) == 4 * 86400


def test_time_in_stage_is_exact_across_time_zones():
    deal = new_deal()
    paris = timezone(timedelta(hours=1))
    deal.move_to("qualified", PIPELINE, datetime(2026, 3, 1, 11, 0, tzinfo=paris), META)
    [moved] = deal.collect_events()
    assert moved.seconds_in_stage == 3600.0


def test_moving_uses_the_probability_the_pipeline_has_now():
    pipeline = new_pipeline()
    deal = new_deal(pipeline)
    pipeline.set_probability("proposal", 0.75, META)
    deal.move_to("proposal", pipeline, hours(1), META)
    [moved] = deal.collect_events()
    assert moved.probability == 0.75
    assert deal.probability == 0.75


def test_moving_to_the_same_stage_records_nothing():
    deal = new_deal()
    deal.move_to("lead", PIPELINE, hours(1), META)
    assert deal.collect_events() == []
    assert (deal.version, deal.entered_stage_at) == (1, T0)


@pytest.mark.parametrize("closed", [won_deal, lost_deal])
def test_closed_deal_does_not_move(closed):
    deal = closed()
    with pytest.raises(DealClosed) as refused:
        deal.move_to("qualified", PIPELINE, hours(10), META)
    assert refused.value.code == "deal_closed"
    assert isinstance(refused.value, RuleViolation)
    assert deal.collect_events() == []


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_deal_does_not_move_to_won_or_lost(stage):
    deal = new_deal()
    with pytest.raises(UseWinOrLose, match="use win or lose") as refused:
        deal.move_to(stage, PIPELINE, hours(1), META)
    assert refused.value.code == "use_win_or_lose"
    assert deal.collect_events() == []
    assert deal.stage == "lead"


def test_deal_moves_only_to_stages_of_its_pipeline():
    deal = new_deal()
    with pytest.raises(UnknownStage) as refused:
        deal.move_to("negotiation", PIPELINE, hours(1), META)
    assert refused.value.code == "unknown_stage"
    assert UnknownStage is domain.pipeline.UnknownStage
    assert deal.collect_events() == []


def test_move_needs_the_deals_own_pipeline():
    deal = new_deal()
    with pytest.raises(InvalidValue) as refused:
        deal.move_to("qualified", new_pipeline(), hours(1), META)
    assert refused.value.code == "validation_error"
    assert deal.collect_events() == []


def test_deal_cannot_leave_a_stage_before_it_entered_it():
    deal = new_deal()
    deal.move_to("qualified", PIPELINE, hours(2), META)
    deal.collect_events()
    with pytest.raises(InvalidValue, match="before"):
        deal.move_to("proposal", PIPELINE, hours(1), META)
    assert deal.collect_events() == []
    assert deal.stage == "qualified"


def test_move_time_needs_a_zone():
    deal = new_deal()
    with pytest.raises(InvalidValue, match="time zone"):
        deal.move_to("qualified", PIPELINE, datetime(2026, 3, 1, 10, 0), META)
    assert deal.collect_events() == []


# -- win ---------------------------------------------------------------------------------


def test_won_deal_records_amount_close_date_and_time_in_the_last_stage():
    deal = new_deal(currency="GBP")
    deal.move_to("proposal", PIPELINE, hours(1), META)
    deal.collect_events()
    deal.win(Decimal("1200.00"), CLOSE_DATE, hours(4), META)
    [won] = deal.collect_events()
    assert isinstance(won, Deal.Won)
    assert (won.amount, won.currency, won.closed_on) == (Decimal("1200.00"), "GBP", CLOSE_DATE)
    assert (won.from_stage, won.seconds_in_stage, won.at, won.meta) == (
        "proposal",
        10800.0,
        hours(4),
        META,
    )
    assert (deal.stage, deal.status, deal.probability, deal.is_closed) == ("won", "won", 1.0, True)
    assert (deal.amount, deal.closed_on) == (Decimal("1200.00"), CLOSE_DATE)


@pytest.mark.parametrize(
    ("amount", "closed_on"),
    [
        (None, CLOSE_DATE),
        (Decimal("0"), CLOSE_DATE),
        (Decimal("-5"), CLOSE_DATE),
        (Decimal("100"), None),
        (None, None),
    ],
)
def test_won_deal_requires_amount_and_close_date(amount, closed_on):
    deal = new_deal(amount=Decimal("500"))
    with pytest.raises(WinRequiresAmount) as refused:
        deal.win(amount, closed_on, hours(1), META)
    assert refused.value.code == "win_requires_amount"
    assert isinstance(refused.value, RuleViolation)
    assert deal.collect_events() == []
    assert deal.status == "open"


@pytest.mark.parametrize("closed", [won_deal, lost_deal])
def test_closed_deal_cannot_be_won(closed):
    deal = closed()
    with pytest.raises(DealClosed) as refused:
        deal.win(Decimal("1"), CLOSE_DATE, hours(10), META)
    assert refused.value.code == "deal_closed"
    assert deal.collect_events() == []


@pytest.mark.parametrize(
    ("amount", "closed_on", "at"),
    [
        (12.5, CLOSE_DATE, hours(1)),
        (Decimal("10"), datetime(2026, 3, 20, tzinfo=UTC), hours(1)),
        (Decimal("10"), CLOSE_DATE, T0 - timedelta(seconds=1)),
        (Decimal("10"), CLOSE_DATE, datetime(2026, 3, 1, 10, 0)),
    ],
)
def test_malformed_win_is_refused(amount, closed_on, at):
    deal = new_deal()
    with pytest.raises(InvalidValue):
        deal.win(amount, closed_on, at, META)
    assert deal.collect_events() == []


# -- lose --------------------------------------------------------------------------------


def test_lost_deal_records_reason_and_time_in_the_last_stage():
    deal = new_deal()
    deal.lose("  no budget ", hours(6), META)
    [lost] = deal.collect_events()
    assert isinstance(lost, Deal.Lost)
    assert (lost.reason, lost.from_stage, lost.seconds_in_stage, lost.at, lost.meta) == (
        "no budget",
        "lead",
        21600.0,
        hours(6),
        META,
    )
    assert (deal.stage, deal.status, deal.probability, deal.is_closed) == (
        "lost",
        "lost",
        0.0,
        True,
    )
    assert deal.lost_reason == "no budget"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_lost_deal_requires_reason(reason):
    deal = new_deal()
    with pytest.raises(LostReasonRequired) as refused:
        deal.lose(reason, hours(1), META)
    assert refused.value.code == "lost_reason_required"
    assert isinstance(refused.value, RuleViolation)
    assert deal.collect_events() == []
    assert deal.status == "open"


@pytest.mark.parametrize("closed", [won_deal, lost_deal])
def test_closed_deal_cannot_be_lost(closed):
    deal = closed()
    with pytest.raises(DealClosed) as refused:
        deal.lose("changed our mind", hours(10), META)
    assert refused.value.code == "deal_closed"
    assert deal.collect_events() == []


def test_deal_cannot_be_lost_before_it_entered_its_stage():
    deal = new_deal()
    with pytest.raises(InvalidValue):
        deal.lose("too early", T0 - timedelta(minutes=1), META)
    assert deal.collect_events() == []


# -- reopen ------------------------------------------------------------------------------


def test_reopened_won_deal_goes_back_to_the_stage_it_closed_from():
    deal = won_deal()
    deal.reopen(PIPELINE, hours(5), META)
    [reopened] = deal.collect_events()
    assert isinstance(reopened, Deal.Reopened)
    assert (reopened.to_stage, reopened.probability, reopened.previous_status) == (
        "proposal",
        0.6,
        "won",
    )
    assert (reopened.at, reopened.meta) == (hours(5), META)
    assert (deal.stage, deal.status, deal.probability, deal.is_closed) == (
        "proposal",
        "open",
        0.6,
        False,
    )
    assert (deal.closed_on, deal.entered_stage_at) == (None, hours(5))
    assert deal.amount == Decimal("1200.00")  # the amount is a detail, it stays


def test_reopened_lost_deal_goes_to_the_stage_asked_and_forgets_the_reason():
    deal = lost_deal()
    deal.reopen(PIPELINE, hours(5), META, stage="lead")
    [reopened] = deal.collect_events()
    assert (reopened.to_stage, reopened.probability, reopened.previous_status) == (
        "lead",
        0.1,
        "lost",
    )
    assert (deal.stage, deal.status, deal.lost_reason) == ("lead", "open", None)


def test_reopened_deal_goes_to_the_first_stage_if_its_stage_is_gone():
    pipeline = Pipeline.create(name="Sales", stages=[Stage("lead", "Lead", 0.1), Stage("demo", "Demo", 0.4)], meta=META)
    [pipeline_created] = pipeline.collect_events()
    deal = new_deal(pipeline)
    deal.move_to("demo", pipeline, hours(1), META)
    deal.lose("no fit", hours(2), META)
    deal.collect_events()
    # The same pipeline as it would be once "demo" no longer exists.
    without_demo = dataclasses.replace(
        pipeline_created,
        stages=[
            {"key": "intro", "name": "Intro", "probability": 0.05},
            {"key": "lead", "name": "Lead", "probability": 0.1},
        ],
    ).mutate(None)
    deal.reopen(without_demo, hours(3), META)
    [reopened] = deal.collect_events()
    assert (reopened.to_stage, reopened.probability) == ("intro", 0.05)
    assert deal.stage == "intro"


def test_reopened_deal_counts_time_in_stage_from_the_reopen():
    deal = won_deal()  # won at hours(2)
    deal.reopen(PIPELINE, hours(5), META)
    deal.move_to("qualified", PIPELINE, hours(5.25), META)
    deal.lose("stalled", hours(8), META)
    _, moved, lost = deal.collect_events()
    assert (moved.from_stage, moved.seconds_in_stage) == ("proposal", 900.0)
    assert (lost.from_stage, lost.seconds_in_stage) == ("qualified", 9900.0)


def test_open_deal_cannot_be_reopened():
    deal = new_deal()
    with pytest.raises(DealNotClosed) as refused:
        deal.reopen(PIPELINE, hours(1), META)
    assert refused.value.code == "deal_not_closed"
    assert isinstance(refused.value, RuleViolation)
    assert deal.collect_events() == []


@pytest.mark.parametrize("stage", ["negotiation", "won", "lost"])
def test_reopened_deal_goes_only_to_an_open_stage_of_its_pipeline(stage):
    deal = lost_deal()
    with pytest.raises(UnknownStage) as refused:
        deal.reopen(PIPELINE, hours(5), META, stage=stage)
    assert refused.value.code == "unknown_stage"
    assert deal.collect_events() == []
    assert deal.status == "lost"


def test_reopen_needs_the_deals_own_pipeline_and_a_later_time():
    deal = lost_deal()  # lost at hours(3)
    with pytest.raises(InvalidValue):
        deal.reopen(new_pipeline(), hours(5), META)
    with pytest.raises(InvalidValue):
        deal.reopen(PIPELINE, hours(2), META)
    assert deal.collect_events() == []


# -- update ------------------------------------------------------------------------------


def test_update_records_only_the_fields_that_differ():
    deal = new_deal(amount=Decimal("100"), owner="ana.sales")
    deal.update(
        META,
        title="Ten seats",
        amount=Decimal("250.00"),
        currency="chf",
        owner="ana.sales",
        expected_close_on=CLOSE_DATE,
    )
    [changed] = deal.collect_events()
    assert isinstance(changed, Deal.DetailsChanged)
    assert changed.changes == {
        "amount": Decimal("250.00"),
        "currency": "CHF",
        "expected_close_on": CLOSE_DATE,
    }
    assert isinstance(changed.changes["amount"], Decimal)
    assert type(changed.changes["expected_close_on"]) is date
    assert changed.meta == META
    assert (deal.title, deal.amount, deal.currency, deal.owner, deal.expected_close_on) == (
        "Ten seats",
        Decimal("250.00"),
        "CHF",
        "ana.sales",
        CLOSE_DATE,
    )


def test_update_can_clear_optional_fields():
    deal = new_deal(amount=Decimal("100"), owner="ana.sales", expected_close_on=CLOSE_DATE)
    deal.update(META, amount=None, owner="  ", expected_close_on=None)
    [changed] = deal.collect_events()
    assert changed.changes == {"amount": None, "owner": None, "expected_close_on": None}
    assert (deal.amount, deal.owner, deal.expected_close_on) == (None, None, None)


def test_update_to_nothing_new_records_nothing():
    deal = new_deal(owner="ana.sales")
    deal.update(META, title=" Ten seats ", owner="ana.sales", currency="eur")
    deal.update(META)
    assert deal.collect_events() == []
    assert deal.version == 1


@pytest.mark.parametrize("closed", [won_deal, lost_deal])
def test_closed_deal_details_do_not_change(closed):
    deal = closed()
    with pytest.raises(DealClosed) as refused:
        deal.update(META, title="Twenty seats")
    assert refused.value.code == "deal_closed"
    assert deal.collect_events() == []
    assert deal.title == "Ten seats"


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "  "},
        {"title": None},
        {"amount": Decimal("-1")},
        {"currency": "EU"},
        {"currency": None},
        {"expected_close_on": "2026-04-01"},
    ],
)
def test_malformed_update_is_refused(fields):
    deal = new_deal()
    with pytest.raises(InvalidValue) as refused:
        deal.update(META, **fields)
    assert refused.value.code == "validation_error"
    assert deal.collect_events() == []


# -- replay ------------------------------------------------------------------------------


def test_deal_rebuilt_from_its_events_equals_the_live_one():
    live = Deal.create(
        pipeline=PIPELINE,
        title="Ten seats",
        meta=META,
        at=T0,
        account_id=uuid4(),
        amount=Decimal("5"),
    )
    live.move_to("qualified", PIPELINE, hours(1), META)
    live.update(META, owner="ben.sales", expected_close_on=CLOSE_DATE)
    live.lose("no budget", hours(2), META)
    live.reopen(PIPELINE, hours(3), META)
    live.move_to("proposal", PIPELINE, hours(4), META)
    live.win(Decimal("900"), CLOSE_DATE, hours(5), META)
    events = live.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == live.__dict__
    assert rebuilt.version == 7


def test_every_event_class_has_its_own_stable_topic():
    classes = [
        Deal.Created,
        Deal.StageChanged,
        Deal.Won,
        Deal.Lost,
        Deal.Reopened,
        Deal.DetailsChanged,
    ]
    assert [cls.TOPIC for cls in classes] == [
        "crm.deal.created.v1",
        "crm.deal.stage_changed.v1",
        "crm.deal.won.v1",
        "crm.deal.lost.v1",
        "crm.deal.reopened.v1",
        "crm.deal.details_changed.v1",
    ]
    assert Deal.TOPIC == "crm.deal"
