"""Properties of the Case aggregate under random sequences of commands at random,
non-decreasing times."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.case import STATUSES, Case, CaseClosed
from domain.errors import DomainError
from domain.meta import Meta
from domain.sla import CHANNELS, PRIORITIES, SlaPolicy

META = Meta(actor="sam.support", correlation_id="c-1", causation_id="cmd-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTACT = UUID("00000000-0000-4000-8000-000000000001")

#: The default, and one whose reopen window (1 day) random gaps often overshoot.
POLICIES = (
    SlaPolicy(),
    SlaPolicy.from_hours(
        {"urgent": (0.5, 2), "high": (1, 8), "normal": (2, 24), "low": (4, 48)}, reopen_window_hours=24
    ),
)

gaps = st.one_of(
    st.integers(0, 120),  # seconds
    st.integers(0, 6 * 3600),  # hours
    st.integers(0, 10 * 24 * 3600),  # days
)
policies = st.sampled_from(POLICIES)
agents = st.sampled_from(["sam", "kim", " "])
priorities = st.sampled_from([*PRIORITIES, "critical"])
breach_kinds = st.sampled_from(["first_response", "resolution", "lunch"])


class CaseLife(RuleBasedStateMachine):
    """Every rule advances the clock, runs one command and checks what it recorded; the
    invariants run after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.events: list[Case.Event] = []
        self.case: Case

    @initialize(priority=st.sampled_from(PRIORITIES), channel=st.sampled_from(CHANNELS), policy=policies)
    def open_case(self, priority: str, channel: str, policy: SlaPolicy) -> None:
        self.case = Case.open(
            contact_id=CONTACT,
            subject="Printer on fire",
            priority=priority,
            channel=channel,
            policy=policy,
            at=self.now,
            meta=META,
        )
        self.events.extend(self.case.collect_events())

    def apply(self, gap: int, command: Callable[[datetime], None]) -> list[Case.Event]:
        """Runs ``command`` at the advanced clock; a refused one must record nothing and a
        closed case must stay closed with nothing recorded."""
        self.now += timedelta(seconds=gap)
        was_closed = self.case.is_closed
        try:
            command(self.now)
        except DomainError as refused:
            assert self.case.collect_events() == []
            if was_closed:
                assert isinstance(refused, CaseClosed) or refused.code == "validation_error"
            recorded: list[Case.Event] = []
        else:
            recorded = self.case.collect_events()
        if was_closed:
            assert recorded == []
            assert self.case.status == "closed"
        self.events.extend(recorded)
        return recorded

    @rule(gap=gaps, agent=agents)
    def assign(self, gap: int, agent: str) -> None:
        self.apply(gap, lambda at: self.case.assign(agent, at, META))

    @rule(gap=gaps, agent=st.none() | agents)
    def respond(self, gap: int, agent: str | None) -> None:
        self.apply(gap, lambda at: self.case.respond(at, META, agent=agent))

    @rule(gap=gaps)
    def wait_on_customer(self, gap: int) -> None:
        self.apply(gap, lambda at: self.case.wait_on_customer(at, META))

    @rule(gap=gaps)
    def customer_replied(self, gap: int) -> None:
        self.apply(gap, lambda at: self.case.customer_replied(at, META))

    @rule(gap=gaps)
    def resolve(self, gap: int) -> None:
        self.apply(gap, lambda at: self.case.resolve(at, META, resolution="fixed"))

    @rule(gap=gaps, policy=policies)
    def reopen(self, gap: int, policy: SlaPolicy) -> None:
        self.apply(gap, lambda at: self.case.reopen(at, META, policy))

    @rule(gap=gaps)
    def close(self, gap: int) -> None:
        self.apply(gap, lambda at: self.case.close(at, META))

    @rule(gap=gaps, priority=priorities, policy=policies)
    def change_priority(self, gap: int, priority: str, policy: SlaPolicy) -> None:
        self.apply(gap, lambda at: self.case.change_priority(priority, policy, at, META))

    @rule(gap=gaps, policy=policies)
    def escalate(self, gap: int, policy: SlaPolicy) -> None:
        self.apply(gap, lambda at: self.case.escalate(policy, at, META, reason="VIP"))

    @rule(gap=gaps, kind=breach_kinds)
    def record_breach(self, gap: int, kind: str) -> None:
        due_now = self.case.breaches_due(self.now + timedelta(seconds=gap))
        recorded = self.apply(gap, lambda at: self.case.record_breach(kind, at, META))
        # breaches_due announces exactly what record_breach then records
        assert [e.kind for e in recorded] == ([kind] if kind in due_now else [])

    @invariant()
    def status_is_known(self) -> None:
        assert self.case.status in STATUSES

    @invariant()
    def a_first_response_is_a_response(self) -> None:
        if self.case.first_responded_at is not None:
            assert self.case.responses >= 1

    @invariant()
    def first_contact_resolution_is_known_exactly_when_resolved(self) -> None:
        resolved = self.case.status in ("resolved", "closed")
        assert (self.case.first_contact_resolution is not None) == resolved
        assert (self.case.resolved_at is not None) == resolved
        assert (self.case.closed_at is not None) == self.case.is_closed

    @invariant()
    def each_breach_is_recorded_at_most_once(self) -> None:
        kinds = Counter(e.kind for e in self.events if isinstance(e, Case.SlaBreached))
        assert all(count == 1 for count in kinds.values())
        assert sorted(self.case.breaches) == sorted(kinds)

    @invariant()
    def version_counts_the_events(self) -> None:
        assert self.case.version == len(self.events)

    def teardown(self) -> None:
        if not self.events:  # initialize never ran
            return
        rebuilt = None
        for event in self.events:
            rebuilt = event.mutate(rebuilt)
        assert rebuilt is not None
        assert rebuilt.__dict__ == self.case.__dict__


CaseLife.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_case_life = CaseLife.TestCase
