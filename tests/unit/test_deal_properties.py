"""Properties of the Deal aggregate under random sequences of commands.

Given a deal in a fixed pipeline, when any sequence of moves, wins, losses, reopens and
updates is applied (with time never going backwards), then after every step the deal is
in a consistent state, a refused command recorded nothing, every event that leaves a stage
says exactly how long the deal sat in it, and the deal rebuilt from all its events equals
the live one.
"""

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.deal import Deal
from domain.errors import DomainError
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage

META = Meta(actor="prop.tester", correlation_id="c-prop", causation_id="cmd-prop")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PARTY = UUID("00000000-0000-4000-8000-0000000000aa")
STAGES = [
    Stage("lead", "Lead", 0.1),
    Stage("qualified", "Qualified", 0.35),
    Stage("proposal", "Proposal", 0.7),
]
PIPELINE = Pipeline.create(name="New business", stages=STAGES, meta=META)
OTHER_PIPELINE = Pipeline.create(name="Renewals", stages=STAGES, meta=META)
STAGE_KEYS = PIPELINE.stage_keys

#: Moves may aim anywhere: real stages, the terminal ones, and ones that do not exist.
any_stage = st.sampled_from([*STAGE_KEYS, "won", "lost", "nowhere", ""])
# Aggregates are not hashable, so the strategy names the pipeline and ``apply`` picks it.
PIPELINES = {"own": PIPELINE, "other": OTHER_PIPELINE}
any_pipeline = st.sampled_from(["own"] * 5 + ["other"])
# Whole microseconds up to about a day: zero happens, and so do awkward fractions.
elapsed = st.one_of(st.just(0), st.integers(min_value=0, max_value=86_400 * 10**6))
money = st.one_of(
    st.none(),
    st.decimals(min_value=-100, max_value=10_000, places=2, allow_nan=False, allow_infinity=False),
)
opening_amount = st.one_of(st.none(), st.decimals(min_value=0, max_value=10_000, places=2))
dates = st.one_of(st.none(), st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
reasons = st.sampled_from([None, "", "   ", "no budget", " went with a competitor "])

commands = st.one_of(
    st.tuples(st.just("move"), any_stage, any_pipeline, elapsed),
    st.tuples(st.just("win"), money, dates, elapsed),
    st.tuples(st.just("lose"), reasons, elapsed),
    st.tuples(st.just("reopen"), st.one_of(st.none(), any_stage), any_pipeline, elapsed),
    st.tuples(
        st.just("update"),
        st.fixed_dictionaries(
            {},
            optional={
                "title": st.sampled_from(["Ten seats", "  Twenty seats ", "  "]),
                "amount": money,
                "currency": st.sampled_from(["EUR", "usd", "XX"]),
                "owner": st.sampled_from([None, "ana.sales", " ben.sales ", ""]),
                "expected_close_on": dates,
            },
        ),
    ),
)


def apply(deal: Deal, command: tuple, now: datetime) -> datetime:
    """Applies one command at ``now`` plus its elapsed time; returns the new ``now``."""
    name, *args = command
    if name == "update":
        deal.update(META, **args[0])
        return now
    *params, micros = args
    now = now + timedelta(microseconds=micros)
    if name == "move":
        stage, pipeline = params
        deal.move_to(stage, PIPELINES[pipeline], now, META)
    elif name == "win":
        amount, closed_on = params
        deal.win(amount, closed_on, now, META)
    elif name == "lose":
        (reason,) = params
        deal.lose(reason, now, META)
    else:
        stage, pipeline = params
        deal.reopen(PIPELINES[pipeline], now, META, stage=stage)
    return now


def check_state(deal: Deal) -> None:
    assert deal.status in {"open", "won", "lost"}
    assert (deal.status == "open") == (deal.stage in STAGE_KEYS)
    assert deal.is_closed == (deal.status != "open")
    if deal.status == "open":  # a reopen forgets how the deal closed
        assert (deal.closed_on, deal.lost_reason) == (None, None)
    if deal.status == "won":
        assert deal.lost_reason is None
        assert deal.stage == "won"
        assert deal.amount is not None and deal.amount > 0
        assert deal.closed_on is not None
    if deal.status == "lost":
        assert deal.stage == "lost"
        assert deal.lost_reason is not None and deal.lost_reason.strip()
    assert deal.probability == PIPELINE.probability_of(deal.stage)


LEAVES_A_STAGE = (Deal.StageChanged, Deal.Won, Deal.Lost)
ENTERS_A_STAGE = (Deal.Created, Deal.StageChanged, Deal.Reopened)


def check_history(events: list) -> None:
    """Every event leaving a stage counts the time since the event that entered it, and
    all time from creation is spent either in a stage or closed."""
    entered_at = None
    closed_at = None
    in_stages = 0.0
    closed = 0.0
    last_at = None
    for recorded in events:
        if isinstance(recorded, LEAVES_A_STAGE):
            assert recorded.seconds_in_stage >= 0
            assert recorded.seconds_in_stage == (recorded.at - entered_at).total_seconds()
            in_stages += recorded.seconds_in_stage
        if isinstance(recorded, (Deal.Won, Deal.Lost)):
            closed_at = recorded.at
        if isinstance(recorded, Deal.Reopened):
            closed += (recorded.at - closed_at).total_seconds()
        if isinstance(recorded, ENTERS_A_STAGE):
            entered_at = recorded.at
        if hasattr(recorded, "at"):
            last_at = recorded.at
    created_at = events[0].at
    assert in_stages + closed == pytest.approx((last_at - created_at).total_seconds(), abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(
    contact_or_account=st.booleans(),
    amount=opening_amount,
    steps=st.lists(commands, max_size=25),
)
def test_any_sequence_of_commands_keeps_the_deal_consistent(contact_or_account, amount, steps):
    party = {"contact_id" if contact_or_account else "account_id": PARTY}
    deal = Deal.create(pipeline=PIPELINE, title="Ten seats", meta=META, at=T0, amount=amount, **party)
    events = deal.collect_events()
    now = T0
    check_state(deal)
    for command in steps:
        version = deal.version
        try:
            now = apply(deal, command, now)
        except DomainError:
            assert deal.collect_events() == [], f"{command} was refused but recorded events"
            assert deal.version == version
            continue
        new = deal.collect_events()
        assert len(new) <= 1
        for recorded in new:
            event(type(recorded).__name__)  # shows in --hypothesis-show-statistics
        events.extend(new)
        check_state(deal)
        assert deal.version == len(events)
        check_history(events)

    rebuilt = None
    for recorded in events:
        rebuilt = recorded.mutate(rebuilt)
    assert rebuilt.__dict__ == deal.__dict__
