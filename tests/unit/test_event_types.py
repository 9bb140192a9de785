"""One spelling of an event's type: the registry's (``crm.<aggregate>.<event>.v<N>``).
Every projection keys its handlers by it, and every registered type has a handler in each
projection or is listed there as deliberately ignored; a misspelt key fails here instead
of silently never matching."""

from __future__ import annotations

import pytest

from automations.reactions import TRIGGERS, Reactions
from domain.privacy import PERSONAL_FIELDS
from domain.registry import AGGREGATES, EVENT_TYPES, aggregate_type_of
from projections.olap import rows
from projections.oltp import (
    accounts,
    activities,
    agents,
    campaigns,
    cases,
    contacts,
    contracts,
    deals,
    orders,
    pipelines,
    price_lists,
    products,
    quotes,
    timeline,
)
from projections.oltp.projection import project
from tests.every_event import every_envelope

REGISTERED = frozenset(EVENT_TYPES)
#: The operational model: one module per aggregate, each handling all of its events.
OLTP = {
    "contact": contacts,
    "account": accounts,
    "pipeline": pipelines,
    "deal": deals,
    "campaign": campaigns,
    "case": cases,
    "product": products,
    "price_list": price_lists,
    "quote": quotes,
    "order": orders,
    "contract": contracts,
    "activity": activities,
    "agent": agents,
}
#: Aggregates without a table of their own: the API reads keys from the event store; a
#: case thread is how the command side recognises a repeated case, and what it decides
#: reaches the case's own row (``crm.case.duplicate_linked.v1``: closed, with its link).
NOT_PROJECTED = ("apikey", "case_thread")


def types_of(*aggregates: str) -> set[str]:
    return {t for t in REGISTERED if aggregate_type_of(t) in aggregates}


def test_every_aggregate_has_a_table_or_is_left_out_on_purpose():
    assert sorted([*OLTP, *NOT_PROJECTED]) == sorted(AGGREGATES)


@pytest.mark.parametrize("aggregate", sorted(OLTP))
def test_the_operational_model_handles_every_event_of_each_aggregate(aggregate):
    assert sorted(types_of(aggregate) - set(OLTP[aggregate].HANDLERS)) == []
    assert sorted(set(OLTP[aggregate].HANDLERS) - types_of(aggregate)) == []


def test_the_timeline_takes_or_leaves_each_aggregate_on_purpose():
    assert sorted([*timeline.AGGREGATES, *timeline.IGNORED_AGGREGATES]) == sorted(AGGREGATES)


def test_the_warehouse_handles_or_ignores_every_event_type():
    handled, ignored = set(rows.HANDLERS), set(rows.IGNORED)
    assert sorted(REGISTERED - handled - ignored) == []
    assert sorted((handled | ignored) - REGISTERED) == []
    assert handled & ignored == set()


def test_automations_are_triggered_by_registered_event_types():
    assert sorted(set(TRIGGERS) - REGISTERED) == []


def test_personal_fields_are_listed_under_registered_event_types():
    assert sorted(set(PERSONAL_FIELDS) - REGISTERED) == []


def test_every_projection_reads_a_real_event_of_every_type():
    reactions = Reactions(mql_threshold=50, agents=["sam"])
    for envelope in every_envelope():
        changes = project(envelope)
        if envelope.aggregate_type not in NOT_PROJECTED:
            assert changes, envelope.type  # every event moves its aggregate's row at least
        if envelope.type in rows.HANDLERS:
            assert rows.project(envelope), envelope.type
        reactions(envelope)
