"""The Deal aggregate: a sales opportunity moving through the stages of one pipeline."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware, require_date
from domain.meta import Meta
from domain.money import require_amount, require_currency, require_decimal
from domain.pipeline import LOST, TERMINAL_STAGES, WON, Pipeline, UnknownStage
from domain.text import clean as _clean

__all__ = [
    "Deal",
    "DealClosed",
    "DealNotClosed",
    "LostReasonRequired",
    "UnknownStage",
    "UseWinOrLose",
    "WinRequiresAmount",
    "AmountFollowsOrders",
]

OPEN = "open"
STATUSES = (OPEN, WON, LOST)


class DealClosed(RuleViolation):
    """A won or lost deal changes only through an explicit reopen."""

    code = "deal_closed"


class UseWinOrLose(RuleViolation):
    code = "use_win_or_lose"


class WinRequiresAmount(RuleViolation):
    code = "win_requires_amount"


class LostReasonRequired(RuleViolation):
    code = "lost_reason_required"


class DealNotClosed(RuleViolation):
    code = "deal_not_closed"


class AmountFollowsOrders(RuleViolation):
    """Once orders exist, the deal's amount is their total, never a typed-in number."""

    code = "amount_follows_orders"


class _Unset:
    """Marks a field ``update`` was not asked to change (``None`` is a real value)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class Deal(Aggregate):
    """Belongs to one pipeline and to one contact or one account. The deal does not hold
    its pipeline: commands that need the stages take the ``Pipeline`` (read only).

    Every event that takes the deal out of a stage (``StageChanged``, ``Won``, ``Lost``)
    records ``seconds_in_stage``: how long it sat in the stage it left."""

    TOPIC = "crm.deal"

    class Created(Aggregate.Created):
        TOPIC = "crm.deal.created.v1"
        pipeline_id: UUID
        title: str
        contact_id: UUID | None
        account_id: UUID | None
        amount: Decimal | None
        currency: str
        owner: str | None
        expected_close_on: date | None
        stage: str
        probability: float
        at: datetime
        meta: Meta

    class StageChanged(Aggregate.Event):
        TOPIC = "crm.deal.stage_changed.v1"
        from_stage: str
        to_stage: str
        probability: float
        seconds_in_stage: float
        at: datetime
        meta: Meta

    class Won(Aggregate.Event):
        TOPIC = "crm.deal.won.v1"
        amount: Decimal
        currency: str
        closed_on: date
        from_stage: str
        seconds_in_stage: float
        at: datetime
        meta: Meta

    class Lost(Aggregate.Event):
        TOPIC = "crm.deal.lost.v1"
        reason: str
        from_stage: str
        seconds_in_stage: float
        at: datetime
        meta: Meta

    class Reopened(Aggregate.Event):
        TOPIC = "crm.deal.reopened.v1"
        to_stage: str
        probability: float
        previous_status: str
        at: datetime
        meta: Meta

    class DetailsChanged(Aggregate.Event):
        TOPIC = "crm.deal.details_changed.v1"
        changes: dict[str, Any]
        meta: Meta

    class OrdersChanged(Aggregate.Event):
        """An order for the deal was placed or cancelled: ``amount`` is the total of its
        orders that stand, whatever the deal's status."""

        TOPIC = "crm.deal.orders_changed.v1"
        order_id: UUID
        order_total: Decimal | None  # None: the order was cancelled
        amount: Decimal
        orders: int
        at: datetime
        meta: Meta

    # -- commands: guard, then record ------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        pipeline: Pipeline,
        title: str,
        meta: Meta,
        at: datetime,
        contact_id: UUID | None = None,
        account_id: UUID | None = None,
        amount: Decimal | None = None,
        currency: str = "EUR",
        owner: str | None = None,
        expected_close_on: date | None = None,
    ) -> Deal:
        """Starts open, in the pipeline's first stage."""
        _require_one_party(contact_id, account_id)
        stage = pipeline.first_stage
        return cls(
            pipeline_id=pipeline.id,
            title=_require_title(title),
            contact_id=contact_id,
            account_id=account_id,
            amount=_require_amount(amount),
            currency=require_currency(currency),
            owner=_clean(owner),
            expected_close_on=_optional_date(expected_close_on, "expected_close_on"),
            stage=stage,
            probability=pipeline.probability_of(stage),
            at=require_aware(at),
            meta=meta,
        )

    def move_to(self, stage: str, pipeline: Pipeline, at: datetime, meta: Meta) -> None:
        """To another stage of the deal's pipeline; winning and losing have their own
        commands because they need an amount or a reason."""
        self._require_own(pipeline)
        require_aware(at)
        self._require_open()
        if stage in TERMINAL_STAGES:
            raise UseWinOrLose(f"a deal does not move to {stage!r}: use win or lose")
        if stage not in pipeline.stage_keys:
            raise UnknownStage(f"the deal's pipeline has no stage {stage!r}")
        if stage == self.stage:
            return
        self._stage_changed(
            from_stage=self.stage,
            to_stage=stage,
            probability=pipeline.probability_of(stage),
            seconds_in_stage=self._require_seconds_in_stage(at),
            at=at,
            meta=meta,
        )

    def win(self, amount: Decimal | None, closed_on: date | None, at: datetime, meta: Meta) -> None:
        """Needs an amount above zero and a close date. With orders, the amount is theirs:
        none need be given, and a different one is refused."""
        require_aware(at)
        self._require_open()
        if self.orders:
            if amount is not None and require_decimal(amount, "amount") != self.amount:
                raise AmountFollowsOrders(
                    f"the deal's amount is its orders' total, {self.amount} {self.currency}, not {amount}"
                )
            amount = self.amount
        if amount is None or closed_on is None or require_decimal(amount, "amount") <= 0:
            raise WinRequiresAmount("a won deal needs an amount above zero and a close date")
        self._won(
            amount=require_decimal(amount, "amount"),
            currency=self.currency,
            closed_on=require_date(closed_on, "closed_on"),
            from_stage=self.stage,
            seconds_in_stage=self._require_seconds_in_stage(at),
            at=at,
            meta=meta,
        )

    def lose(self, reason: str | None, at: datetime, meta: Meta) -> None:
        """Needs a reason."""
        require_aware(at)
        self._require_open()
        cleaned = _clean(reason)
        if cleaned is None:
            raise LostReasonRequired("a lost deal needs a reason")
        self._lost(
            reason=cleaned,
            from_stage=self.stage,
            seconds_in_stage=self._require_seconds_in_stage(at),
            at=at,
            meta=meta,
        )

    def reopen(self, pipeline: Pipeline, at: datetime, meta: Meta, stage: str | None = None) -> None:
        """Back to ``stage``, by default the stage the deal closed from (or the pipeline's
        first stage if that one no longer exists)."""
        self._require_own(pipeline)
        require_aware(at)
        if not self.is_closed:
            raise DealNotClosed("only a won or lost deal can be reopened")
        if stage is None:
            previous = self.stage_before_close
            stage = previous if previous in pipeline.stage_keys else pipeline.first_stage
        elif stage not in pipeline.stage_keys:
            raise UnknownStage(f"a deal reopens into an open stage of its pipeline, not {stage!r}")
        self._require_seconds_in_stage(at)
        self._reopened(
            to_stage=stage,
            probability=pipeline.probability_of(stage),
            previous_status=self.status,
            at=at,
            meta=meta,
        )

    def record_order(self, order_id: UUID, total: Decimal | None, at: datetime, meta: Meta) -> None:
        """Called in the transaction that places (``total``) or cancels (``None``) an order
        of the deal, in any status: a won deal's amount follows its orders too."""
        require_aware(at)
        totals = dict(self.order_totals)
        if total is None:
            if totals.pop(order_id, None) is None:
                return
        else:
            totals[order_id] = require_decimal(total, "total")
        self._orders_changed(
            order_id=order_id,
            order_total=totals.get(order_id),
            amount=sum(totals.values(), Decimal(0)),
            orders=len(totals),
            at=at,
            meta=meta,
        )

    @property
    def orders(self) -> int:
        return len(self.order_totals)

    def update(
        self,
        meta: Meta,
        *,
        title: str = UNSET,
        amount: Decimal | None = UNSET,
        currency: str = UNSET,
        owner: str | None = UNSET,
        expected_close_on: date | None = UNSET,
    ) -> None:
        """Changes only the fields given, and records only those that really differ."""
        self._require_open()
        given = {
            "title": title,
            "amount": amount,
            "currency": currency,
            "owner": owner,
            "expected_close_on": expected_close_on,
        }
        cleaned = {field: _CLEANERS[field](value) for field, value in given.items() if value is not UNSET}
        if self.orders and "amount" in cleaned and cleaned["amount"] != self.amount:
            raise AmountFollowsOrders(f"the deal's amount is its orders' total, {self.amount} {self.currency}")
        changes = {f: v for f, v in cleaned.items() if getattr(self, f) != v}
        if changes:
            self._details_changed(changes=changes, meta=meta)

    # -- reads: pure, record nothing -------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.status != OPEN

    # -- guards -----------------------------------------------------------------------

    def _require_own(self, pipeline: Pipeline) -> None:
        if pipeline.id != self.pipeline_id:
            raise InvalidValue(f"pipeline {pipeline.id} is not the deal's pipeline {self.pipeline_id}")

    def _require_open(self) -> None:
        if self.is_closed:
            raise DealClosed(f"the deal is {self.status}; reopen it first")

    def _require_seconds_in_stage(self, at: datetime) -> float:
        """Time only moves forward: a deal cannot leave a stage before it entered it."""
        if at < self.entered_stage_at:
            raise InvalidValue(
                f"{at.isoformat()} is before the deal entered its stage ({self.entered_stage_at.isoformat()})"
            )
        return (at - self.entered_stage_at).total_seconds()

    # -- state changes: only where an event is applied -------------------------------

    @event(Created)
    def __init__(
        self,
        pipeline_id: UUID,
        title: str,
        contact_id: UUID | None,
        account_id: UUID | None,
        amount: Decimal | None,
        currency: str,
        owner: str | None,
        expected_close_on: date | None,
        stage: str,
        probability: float,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.pipeline_id = pipeline_id
        self.title = title
        self.contact_id = contact_id
        self.account_id = account_id
        self.amount = amount
        self.currency = currency
        self.owner = owner
        self.expected_close_on = expected_close_on
        self.stage = stage
        self.probability = probability
        self.status = OPEN
        self.entered_stage_at = at
        self.closed_on: date | None = None
        self.lost_reason: str | None = None
        self.stage_before_close: str | None = None
        self.created_at = at
        self.order_totals: dict[UUID, Decimal] = {}

    @event(StageChanged)
    def _stage_changed(
        self,
        from_stage: str,
        to_stage: str,
        probability: float,
        seconds_in_stage: float,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.stage = to_stage
        self.probability = probability
        self.entered_stage_at = at

    @event(Won)
    def _won(
        self,
        amount: Decimal,
        currency: str,
        closed_on: date,
        from_stage: str,
        seconds_in_stage: float,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.stage_before_close = from_stage
        self.stage = WON
        self.status = WON
        self.probability = TERMINAL_STAGES[WON]
        self.amount = amount
        self.currency = currency
        self.closed_on = closed_on
        self.entered_stage_at = at

    @event(Lost)
    def _lost(
        self,
        reason: str,
        from_stage: str,
        seconds_in_stage: float,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.stage_before_close = from_stage
        self.stage = LOST
        self.status = LOST
        self.probability = TERMINAL_STAGES[LOST]
        self.lost_reason = reason
        self.entered_stage_at = at

    @event(Reopened)
    def _reopened(
        self,
        to_stage: str,
        probability: float,
        previous_status: str,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.stage = to_stage
        self.status = OPEN
        self.probability = probability
        self.closed_on = None
        self.lost_reason = None
        self.stage_before_close = None
        self.entered_stage_at = at

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any], meta: Meta) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    @event(OrdersChanged)
    def _orders_changed(
        self, order_id: UUID, order_total: Decimal | None, amount: Decimal, orders: int, at: datetime, meta: Meta
    ) -> None:
        totals = {k: v for k, v in self.order_totals.items() if k != order_id}
        if order_total is not None:
            totals[order_id] = order_total
        self.order_totals = totals
        self.amount = amount


def _require_title(title: str | None) -> str:
    cleaned = _clean(title)
    if cleaned is None:
        raise InvalidValue("a deal needs a title")
    return cleaned


def _require_amount(amount: Decimal | int | None) -> Decimal | None:
    """``None`` or money of zero or more."""
    return None if amount is None else require_amount(amount)


def _optional_date(value: date | None, field: str) -> date | None:
    return None if value is None else require_date(value, field)


def _require_one_party(contact_id: UUID | None, account_id: UUID | None) -> None:
    if (contact_id is None) == (account_id is None):
        raise InvalidValue("a deal belongs to exactly one contact or one account")
    party = contact_id if contact_id is not None else account_id
    if not isinstance(party, UUID):
        raise InvalidValue(f"{party!r} is not an id")


_CLEANERS: dict[str, Any] = {
    "title": _require_title,
    "amount": _require_amount,
    "currency": require_currency,
    "owner": _clean,
    "expected_close_on": lambda value: _optional_date(value, "expected_close_on"),
}
