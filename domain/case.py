"""The Case aggregate: a customer's request for help, from opening to closing, with its
service-level deadlines.

Lifecycle: new → open → pending (waiting on the customer) → resolved → closed. A resolved
case may be reopened within the policy's window; a closed case never changes again.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware
from domain.meta import Meta
from domain.sla import CHANNELS, PRIORITIES, SlaPolicy
from domain.text import clean as _clean

STATUSES = ("new", "open", "pending", "resolved", "closed")

BREACH_KINDS = ("first_response", "resolution")


class CaseClosed(RuleViolation):
    code = "case_closed"


class CaseResolved(RuleViolation):
    code = "case_resolved"


class InvalidTransition(RuleViolation):
    code = "invalid_transition"


class ReopenWindowExpired(RuleViolation):
    code = "reopen_window_expired"


class SlaNotBreached(RuleViolation):
    code = "sla_not_breached"


class Case(Aggregate):
    """Deadlines are absolute instants computed when the case opens (and again when its
    priority changes), so that a breach watcher needs only the case, never the policy.

    First-contact resolution: a case resolved with exactly one agent response before
    resolution."""

    TOPIC = "crm.case"

    class Created(Aggregate.Created):
        """The base of the case's creation events, never recorded itself: eventsourcing
        defines a ``Created`` class on every aggregate that lacks one, and with explicit
        topics that class needs a TOPIC of its own. Cases are created by ``Opened``. Its
        topic has no version on purpose: it names no event type, so the registry (which
        lists ``crm.<aggregate>.<event>.v<N>`` topics) leaves it out."""

        TOPIC = "crm.case.created"

    class Opened(Created):
        TOPIC = "crm.case.opened.v1"
        contact_id: UUID
        subject: str
        priority: str
        channel: str
        status: str
        first_response_due: datetime
        resolution_due: datetime
        at: datetime
        meta: Meta

    class SkillSet(Aggregate.Event):
        """The skill an agent needs for the case, which routing looks for. An event of its
        own rather than a field of ``Opened``, so that cases recorded before skills existed
        keep their form and their chain hashes."""

        TOPIC = "crm.case.skill_set.v1"
        skill: str | None
        previous_skill: str | None
        at: datetime
        meta: Meta

    class Assigned(Aggregate.Event):
        TOPIC = "crm.case.assigned.v1"
        agent: str
        previous_agent: str | None
        status: str
        at: datetime
        meta: Meta

    class Responded(Aggregate.Event):
        TOPIC = "crm.case.responded.v1"
        agent: str | None
        responses: int
        first_response: bool
        seconds_to_first_response: float | None
        first_response_met: bool | None
        status: str
        at: datetime
        meta: Meta

    class PendingOnCustomer(Aggregate.Event):
        TOPIC = "crm.case.pending.v1"
        at: datetime
        meta: Meta

    class CustomerReplied(Aggregate.Event):
        TOPIC = "crm.case.customer_replied.v1"
        at: datetime
        meta: Meta

    class Resolved(Aggregate.Event):
        TOPIC = "crm.case.resolved.v1"
        resolution: str | None
        seconds_to_resolution: float
        resolution_met: bool
        first_contact_resolution: bool
        responses: int
        at: datetime
        meta: Meta

    class Reopened(Aggregate.Event):
        TOPIC = "crm.case.reopened.v1"
        reopen_count: int
        at: datetime
        meta: Meta

    class Closed(Aggregate.Event):
        TOPIC = "crm.case.closed.v1"
        at: datetime
        meta: Meta

    class PriorityChanged(Aggregate.Event):
        TOPIC = "crm.case.priority_changed.v1"
        priority: str
        previous_priority: str
        first_response_due: datetime
        resolution_due: datetime
        reason: str | None
        at: datetime
        meta: Meta

    class DuplicateLinked(Aggregate.Event):
        """The case repeats an earlier one (same person, same subject, within the window):
        it is closed at once and the earlier case carries the work."""

        TOPIC = "crm.case.duplicate_linked.v1"
        original_id: UUID
        status: str
        at: datetime
        meta: Meta

    class SlaBreached(Aggregate.Event):
        TOPIC = "crm.case.sla_breached.v1"
        kind: str
        due: datetime
        at: datetime
        meta: Meta

    # -- commands: guard, then record ------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        contact_id: UUID,
        subject: str,
        priority: str,
        channel: str,
        policy: SlaPolicy,
        at: datetime,
        meta: Meta,
        skill: str | None = None,
    ) -> Case:
        """The creation command (named for the business act; eventsourcing has no
        ``open`` of its own). The deadlines follow ``policy`` for ``priority``."""
        require_aware(at)
        if not isinstance(contact_id, UUID):
            raise InvalidValue(f"contact_id must be a UUID, not {contact_id!r}")
        _require_priority(priority)
        if channel not in CHANNELS:
            raise InvalidValue(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
        case = cls(
            contact_id=contact_id,
            subject=_require_text(subject, "a case needs a subject"),
            priority=priority,
            channel=channel,
            status="new",
            first_response_due=policy.first_response_due(priority, at),
            resolution_due=policy.resolution_due(priority, at),
            at=at,
            meta=meta,
        )
        case.set_skill(skill, at, meta)
        return case

    def set_skill(self, skill: str | None, at: datetime, meta: Meta) -> None:
        """``None`` clears it; the skill it already needs records nothing."""
        require_aware(at)
        self._require_not_closed()
        cleaned = _require_skill(skill)
        if cleaned != self.skill:
            self._skill_set(skill=cleaned, previous_skill=self.skill, at=at, meta=meta)

    def link_duplicate(self, original_id: UUID, at: datetime, meta: Meta) -> None:
        """Closes a new case that repeats ``original_id``; only a case nobody has worked on
        yet (new, no response) can be a duplicate."""
        require_aware(at)
        self._require_not_closed()
        if not isinstance(original_id, UUID) or original_id == self.id:
            raise InvalidValue("a duplicate links to another case's id")
        if self.status != "new" or self.responses:
            raise InvalidTransition(f"only a new case can be linked as a duplicate, not one that is {self.status}")
        self._duplicate_linked(original_id=original_id, status="closed", at=at, meta=meta)

    def assign(self, agent: str, at: datetime, meta: Meta) -> None:
        """Assigning a new case opens it; assigning the same agent again records nothing."""
        require_aware(at)
        self._require_not_closed()
        agent = _require_text(agent, "an assignment needs an agent")
        if agent == self.agent:
            return
        self._assigned(
            agent=agent,
            previous_agent=self.agent,
            status="open" if self.status == "new" else self.status,
            at=at,
            meta=meta,
        )

    def respond(self, at: datetime, meta: Meta, agent: str | None = None) -> None:
        """An agent's response to the customer. ``agent`` defaults to the assigned one.
        A resolved case must be reopened before anyone responds on it."""
        require_aware(at)
        self._require_not_closed()
        if self.status == "resolved":
            raise CaseResolved("the case is resolved; reopen it before responding")
        responder = self.agent if agent is None else _require_text(agent, "agent cannot be blank")
        first = self.first_responded_at is None
        self._responded(
            agent=responder,
            responses=self.responses + 1,
            first_response=first,
            seconds_to_first_response=(at - self.opened_at).total_seconds() if first else None,
            first_response_met=(at <= self.first_response_due) if first else None,
            status="open" if self.status in ("new", "pending") else self.status,
            at=at,
            meta=meta,
        )

    def wait_on_customer(self, at: datetime, meta: Meta) -> None:
        require_aware(at)
        self._require_not_closed()
        self._require_status("open", "wait on the customer")
        self._pending_on_customer(at=at, meta=meta)

    def customer_replied(self, at: datetime, meta: Meta) -> None:
        require_aware(at)
        self._require_not_closed()
        self._require_status("pending", "take a customer reply")
        self._customer_replied(at=at, meta=meta)

    def resolve(self, at: datetime, meta: Meta, resolution: str | None = None) -> None:
        """Resolving a resolved case records nothing. Time to resolution counts from
        opening, also after a reopen."""
        require_aware(at)
        self._require_not_closed()
        if self.status == "resolved":
            return
        self._resolved(
            resolution=_clean(resolution),
            seconds_to_resolution=(at - self.opened_at).total_seconds(),
            resolution_met=at <= self.resolution_due,
            first_contact_resolution=self.responses == 1,
            responses=self.responses,
            at=at,
            meta=meta,
        )

    def reopen(self, at: datetime, meta: Meta, policy: SlaPolicy) -> None:
        """Only a resolved case reopens, and only up to and including
        ``policy.reopen_window_seconds`` after its resolution."""
        require_aware(at)
        self._require_not_closed()
        self._require_status("resolved", "reopen")
        assert self.resolved_at is not None  # set whenever the status is resolved
        elapsed = (at - self.resolved_at).total_seconds()
        if elapsed > policy.reopen_window_seconds:
            raise ReopenWindowExpired(
                f"the case was resolved {elapsed:.0f}s ago; it may be reopened only within "
                f"{policy.reopen_window_seconds}s"
            )
        self._reopened(reopen_count=self.reopen_count + 1, at=at, meta=meta)

    def close(self, at: datetime, meta: Meta) -> None:
        require_aware(at)
        self._require_not_closed()
        self._require_status("resolved", "close")
        self._closed(at=at, meta=meta)

    def change_priority(
        self,
        priority: str,
        policy: SlaPolicy,
        at: datetime,
        meta: Meta,
        reason: str | None = None,
    ) -> None:
        """Deadlines are recomputed from the opening time, as if the case had always had
        the new priority; a first response already given keeps its deadline."""
        require_aware(at)
        self._require_not_closed()
        _require_priority(priority)
        if priority == self.priority:
            return
        self._priority_changed(
            priority=priority,
            previous_priority=self.priority,
            first_response_due=(
                policy.first_response_due(priority, self.opened_at)
                if self.first_responded_at is None
                else self.first_response_due
            ),
            resolution_due=policy.resolution_due(priority, self.opened_at),
            reason=_clean(reason),
            at=at,
            meta=meta,
        )

    def escalate(self, policy: SlaPolicy, at: datetime, meta: Meta, reason: str) -> None:
        """One priority step up; an urgent case records nothing."""
        require_aware(at)
        self._require_not_closed()
        reason = _require_text(reason, "an escalation needs a reason")
        step = PRIORITIES.index(self.priority)
        if step == len(PRIORITIES) - 1:
            return
        self.change_priority(PRIORITIES[step + 1], policy, at, meta, reason=reason)

    def record_breach(self, kind: str, at: datetime, meta: Meta) -> None:
        """Called by the SLA watcher, possibly more than once: a breach already recorded,
        a target met or a closed case records nothing. Calling before the deadline has
        passed is a mistake of the caller."""
        require_aware(at)
        if kind not in BREACH_KINDS:
            raise InvalidValue(f"unknown breach kind {kind!r}; one of {', '.join(BREACH_KINDS)}")
        if self.is_closed or kind in self.breaches or self._target_met(kind):
            return
        due = self._due(kind)
        if at <= due:
            raise SlaNotBreached(f"the {kind} deadline {due.isoformat()} has not passed yet")
        self._sla_breached(kind=kind, due=due, at=at, meta=meta)

    # -- reads -----------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    def breaches_due(self, at: datetime) -> list[str]:
        """The kinds ``record_breach`` would record at ``at``."""
        require_aware(at)
        if self.is_closed:
            return []
        return [
            kind
            for kind in BREACH_KINDS
            if kind not in self.breaches and not self._target_met(kind) and at > self._due(kind)
        ]

    def _target_met(self, kind: str) -> bool:
        if kind == "first_response":
            return self.first_responded_at is not None
        return self.status in ("resolved", "closed")

    def _due(self, kind: str) -> datetime:
        return self.first_response_due if kind == "first_response" else self.resolution_due

    # -- guards ----------------------------------------------------------------------

    def _require_not_closed(self) -> None:
        if self.is_closed:
            raise CaseClosed("the case is closed; a closed case never changes")

    def _require_status(self, status: str, action: str) -> None:
        if self.status != status:
            raise InvalidTransition(f"cannot {action} a case that is {self.status}, only one that is {status}")

    # -- state changes: only where an event is applied -------------------------------

    @event(Opened)
    def __init__(
        self,
        contact_id: UUID,
        subject: str,
        priority: str,
        channel: str,
        status: str,
        first_response_due: datetime,
        resolution_due: datetime,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.contact_id = contact_id
        self.skill: str | None = None
        self.duplicate_of: UUID | None = None
        self.subject = subject
        self.priority = priority
        self.channel = channel
        self.status = status
        self.agent: str | None = None
        self.opened_at = at
        self.first_response_due = first_response_due
        self.resolution_due = resolution_due
        self.first_responded_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.responses = 0
        self.breaches: list[str] = []
        self.reopen_count = 0
        self.first_contact_resolution: bool | None = None

    @event(Assigned)
    def _assigned(self, agent: str, previous_agent: str | None, status: str, at: datetime, meta: Meta) -> None:
        self.agent = agent
        self.status = status

    @event(Responded)
    def _responded(
        self,
        agent: str | None,
        responses: int,
        first_response: bool,
        seconds_to_first_response: float | None,
        first_response_met: bool | None,
        status: str,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.responses = responses
        if first_response:
            self.first_responded_at = at
        self.status = status

    @event(PendingOnCustomer)
    def _pending_on_customer(self, at: datetime, meta: Meta) -> None:
        self.status = "pending"

    @event(CustomerReplied)
    def _customer_replied(self, at: datetime, meta: Meta) -> None:
        self.status = "open"

    @event(Resolved)
    def _resolved(
        self,
        resolution: str | None,
        seconds_to_resolution: float,
        resolution_met: bool,
        first_contact_resolution: bool,
        responses: int,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.status = "resolved"
        self.resolved_at = at
        self.first_contact_resolution = first_contact_resolution

    @event(Reopened)
    def _reopened(self, reopen_count: int, at: datetime, meta: Meta) -> None:
        self.status = "open"
        self.resolved_at = None
        self.first_contact_resolution = None
        self.reopen_count = reopen_count

    @event(Closed)
    def _closed(self, at: datetime, meta: Meta) -> None:
        self.status = "closed"
        self.closed_at = at

    @event(PriorityChanged)
    def _priority_changed(
        self,
        priority: str,
        previous_priority: str,
        first_response_due: datetime,
        resolution_due: datetime,
        reason: str | None,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.priority = priority
        self.first_response_due = first_response_due
        self.resolution_due = resolution_due

    @event(SkillSet)
    def _skill_set(self, skill: str | None, previous_skill: str | None, at: datetime, meta: Meta) -> None:
        self.skill = skill

    @event(DuplicateLinked)
    def _duplicate_linked(self, original_id: UUID, status: str, at: datetime, meta: Meta) -> None:
        self.duplicate_of = original_id
        self.status = status
        self.closed_at = at

    @event(SlaBreached)
    def _sla_breached(self, kind: str, due: datetime, at: datetime, meta: Meta) -> None:
        if kind not in self.breaches:
            self.breaches = [*self.breaches, kind]


def _require_text(value: str | None, message: str) -> str:
    cleaned = _clean(value)
    if cleaned is None:
        raise InvalidValue(message)
    return cleaned


def _require_skill(skill: str | None) -> str | None:
    cleaned = _clean(skill)
    return None if cleaned is None else cleaned.lower()


def _require_priority(priority: str) -> None:
    if priority not in PRIORITIES:
        raise InvalidValue(f"unknown priority {priority!r}; one of {', '.join(PRIORITIES)}")
