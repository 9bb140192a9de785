"""The Contract aggregate: what a customer signed, from its start to its end, and what
happens as the end comes near.

active → (renewed: a new term, still active) → terminated (early, with a reason) or lapsed
(its end passed without a renewal). A terminated or lapsed contract never changes again.
``renewal_days`` before the end, a renewal deal is opened once per term (by an automation
that calls ``open_renewal``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware, require_date
from domain.meta import Meta
from domain.money import require_amount, require_currency
from domain.text import clean

ACTIVE = "active"
TERMINATED = "terminated"
LAPSED = "lapsed"
STATUSES = (ACTIVE, TERMINATED, LAPSED)


class ContractEnded(RuleViolation):
    """A terminated or lapsed contract is history: it is neither changed nor ended again."""

    code = "contract_ended"


class ContractRunning(RuleViolation):
    code = "contract_running"


class RenewalNotDue(RuleViolation):
    code = "renewal_not_due"


class RenewalOpen(RuleViolation):
    code = "renewal_open"


class TerminationReasonRequired(RuleViolation):
    code = "termination_reason_required"


class Contract(Aggregate):
    TOPIC = "crm.contract"

    class Created(Aggregate.Created):
        """Never recorded itself (contracts are created by ``Signed``); eventsourcing needs a
        topic on it. No version: it names no event type (see ``Case.Created``)."""

        TOPIC = "crm.contract.created"

    class Signed(Created):
        TOPIC = "crm.contract.signed.v1"
        account_id: UUID | None
        contact_id: UUID | None
        title: str
        starts_on: date
        ends_on: date
        value: Decimal
        currency: str
        renewal_days: int
        at: datetime
        meta: Meta

    class Amended(Aggregate.Event):
        TOPIC = "crm.contract.amended.v1"
        changes: dict[str, Any]
        reason: str
        at: datetime
        meta: Meta

    class RenewalOpened(Aggregate.Event):
        TOPIC = "crm.contract.renewal_opened.v1"
        deal_id: UUID
        ends_on: date
        at: datetime
        meta: Meta

    class Renewed(Aggregate.Event):
        TOPIC = "crm.contract.renewed.v1"
        starts_on: date
        ends_on: date
        value: Decimal
        at: datetime
        meta: Meta

    class Terminated(Aggregate.Event):
        TOPIC = "crm.contract.terminated.v1"
        reason: str
        effective_on: date
        at: datetime
        meta: Meta

    class Lapsed(Aggregate.Event):
        TOPIC = "crm.contract.lapsed.v1"
        ended_on: date
        at: datetime
        meta: Meta

    @classmethod
    def sign(
        cls,
        *,
        title: str,
        starts_on: date,
        ends_on: date,
        value: Decimal,
        currency: str,
        at: datetime,
        meta: Meta,
        account_id: UUID | None = None,
        contact_id: UUID | None = None,
        renewal_days: int = 60,
    ) -> Contract:
        """For exactly one account or one contact."""
        if (account_id is None) == (contact_id is None):
            raise InvalidValue("a contract belongs to exactly one account or one contact")
        start, end = _require_term(starts_on, ends_on)
        return cls(
            account_id=account_id,
            contact_id=contact_id,
            title=_require_title(title),
            starts_on=start,
            ends_on=end,
            value=require_amount(value, "value"),
            currency=require_currency(currency),
            renewal_days=_require_days(renewal_days),
            at=require_aware(at),
            meta=meta,
        )

    def amend(self, reason: str | None, at: datetime, meta: Meta, **given: Any) -> None:
        """Changes ``title``, ``ends_on``, ``value`` or ``renewal_days``, with a reason; only
        what really differs is recorded."""
        self._require_active()
        cleaned_reason = clean(reason)
        if cleaned_reason is None:
            raise InvalidValue("an amendment needs a reason")
        unknown = set(given) - set(_CLEANERS)
        if unknown:
            raise InvalidValue(f"a contract has no field {sorted(unknown)[0]!r} to amend")
        cleaned = {field: _CLEANERS[field](value) for field, value in given.items()}
        if "ends_on" in cleaned:
            _require_term(self.starts_on, cleaned["ends_on"])
        changes = {field: value for field, value in cleaned.items() if getattr(self, field) != value}
        if changes:
            self._amended(changes=changes, reason=cleaned_reason, at=require_aware(at), meta=meta)

    def open_renewal(self, deal_id: UUID, at: datetime, meta: Meta) -> None:
        """Once per term, from ``renewal_days`` before the end."""
        self._require_active()
        require_aware(at)
        if self.renewal_deal_id is not None:
            raise RenewalOpen(f"renewal deal {self.renewal_deal_id} is already open for this term")
        if at.date() < self.renewal_due_on:
            raise RenewalNotDue(f"the renewal opens on {self.renewal_due_on.isoformat()}")
        self._renewal_opened(deal_id=deal_id, ends_on=self.ends_on, at=at, meta=meta)

    def renew(self, ends_on: date, value: Decimal, at: datetime, meta: Meta) -> None:
        """A new term from the day after the current one ends."""
        self._require_active()
        start = self.ends_on + timedelta(days=1)
        _, end = _require_term(start, ends_on)
        self._renewed(
            starts_on=start, ends_on=end, value=require_amount(value, "value"), at=require_aware(at), meta=meta
        )

    def terminate(self, reason: str | None, effective_on: date, at: datetime, meta: Meta) -> None:
        self._require_active()
        cleaned = clean(reason)
        if cleaned is None:
            raise TerminationReasonRequired("a terminated contract needs a reason")
        day = require_date(effective_on, "effective_on")
        self._terminated(reason=cleaned, effective_on=day, at=require_aware(at), meta=meta)

    def lapse(self, at: datetime, meta: Meta) -> None:
        """Recorded once the end has passed without a renewal."""
        self._require_active()
        require_aware(at)
        if at.date() <= self.ends_on:
            raise ContractRunning(f"the contract runs until {self.ends_on.isoformat()}")
        self._lapsed(ended_on=self.ends_on, at=at, meta=meta)

    @property
    def renewal_due_on(self) -> date:
        return self.ends_on - timedelta(days=self.renewal_days)

    def _require_active(self) -> None:
        if self.status != ACTIVE:
            raise ContractEnded(f"the contract is {self.status}")

    @event(Signed)
    def __init__(
        self,
        account_id: UUID | None,
        contact_id: UUID | None,
        title: str,
        starts_on: date,
        ends_on: date,
        value: Decimal,
        currency: str,
        renewal_days: int,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.account_id = account_id
        self.contact_id = contact_id
        self.title = title
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.value = value
        self.currency = currency
        self.renewal_days = renewal_days
        self.status = ACTIVE
        self.renewal_deal_id: UUID | None = None
        self.end_reason: str | None = None
        self.signed_at = at

    @event(Amended)
    def _amended(self, changes: dict[str, Any], reason: str, at: datetime, meta: Meta) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    @event(RenewalOpened)
    def _renewal_opened(self, deal_id: UUID, ends_on: date, at: datetime, meta: Meta) -> None:
        self.renewal_deal_id = deal_id

    @event(Renewed)
    def _renewed(self, starts_on: date, ends_on: date, value: Decimal, at: datetime, meta: Meta) -> None:
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.value = value
        self.renewal_deal_id = None

    @event(Terminated)
    def _terminated(self, reason: str, effective_on: date, at: datetime, meta: Meta) -> None:
        self.status = TERMINATED
        self.end_reason = reason

    @event(Lapsed)
    def _lapsed(self, ended_on: date, at: datetime, meta: Meta) -> None:
        self.status = LAPSED


def _require_title(title: object) -> str:
    cleaned = clean(title)  # type: ignore[arg-type]  # clean refuses what is not text
    if cleaned is None:
        raise InvalidValue("a contract needs a title")
    return cleaned


def _require_term(starts_on: object, ends_on: object) -> tuple[date, date]:
    start = require_date(starts_on, "starts_on")
    end = require_date(ends_on, "ends_on")
    if end < start:
        raise InvalidValue(f"ends_on {end.isoformat()} is before starts_on {start.isoformat()}")
    return start, end


def _require_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise InvalidValue(f"renewal_days {days!r} must be a whole number of days from 0 to 3650")
    return days


_CLEANERS: dict[str, Any] = {
    "title": _require_title,
    "ends_on": lambda value: require_date(value, "ends_on"),
    "value": lambda value: require_amount(value, "value"),
    "renewal_days": _require_days,
}
