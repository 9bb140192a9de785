"""Support-case commands and their handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.case import Case
from domain.contact import Contact
from domain.meta import Meta


@dataclass(frozen=True)
class OpenCase:
    contact_id: UUID
    subject: str
    priority: str = "normal"
    channel: str = "email"
    at: datetime | None = None


@dataclass(frozen=True)
class AssignCase:
    case_id: UUID
    agent: str
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RespondToCase:
    case_id: UUID
    agent: str | None = None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class MarkCasePending:
    case_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RecordCustomerReply:
    case_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ResolveCase:
    case_id: UUID
    resolution: str | None = None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ReopenCase:
    case_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class CloseCase:
    case_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ChangeCasePriority:
    case_id: UUID
    priority: str
    reason: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class EscalateCase:
    """One priority step up (an urgent case stays urgent)."""

    case_id: UUID
    reason: str


@dataclass(frozen=True)
class RecordSlaBreach:
    case_id: UUID
    kind: str
    at: datetime | None = None


def open_case(command: OpenCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id)
    contact.require_active()  # no new cases for a merged or erased contact
    case = Case.open(
        contact_id=contact.id,
        subject=command.subject,
        priority=command.priority,
        channel=command.channel,
        policy=uow.config.sla_policy,
        at=uow.at(command.at),
        meta=meta,
    )
    return uow.save(
        case, status=case.status, first_response_due=case.first_response_due, resolution_due=case.resolution_due
    )


def assign(command: AssignCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.assign(command.agent, uow.at(command.at), meta)
    return uow.save(case, status=case.status)


def respond(command: RespondToCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.respond(uow.at(command.at), meta, command.agent)
    return uow.save(case, status=case.status)


def mark_pending(command: MarkCasePending, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.wait_on_customer(uow.at(command.at), meta)
    return uow.save(case, status=case.status)


def customer_replied(command: RecordCustomerReply, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.customer_replied(uow.at(command.at), meta)
    return uow.save(case, status=case.status)


def resolve(command: ResolveCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.resolve(uow.at(command.at), meta, command.resolution)
    return uow.save(case, status=case.status)


def reopen(command: ReopenCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.reopen(uow.at(command.at), meta, uow.config.sla_policy)
    return uow.save(case, status=case.status)


def close(command: CloseCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.close(uow.at(command.at), meta)
    return uow.save(case, status=case.status)


def change_priority(command: ChangeCasePriority, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.change_priority(command.priority, uow.config.sla_policy, uow.now, meta, command.reason)
    return uow.save(case, priority=case.priority)


def escalate(command: EscalateCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id)
    case.escalate(uow.config.sla_policy, uow.now, meta, command.reason)
    return uow.save(case, priority=case.priority)


def record_breach(command: RecordSlaBreach, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id)
    case.record_breach(command.kind, uow.at(command.at), meta)
    return uow.save(case)


HANDLERS: dict[type, Handler] = {
    OpenCase: open_case,
    AssignCase: assign,
    RespondToCase: respond,
    MarkCasePending: mark_pending,
    RecordCustomerReply: customer_replied,
    ResolveCase: resolve,
    ReopenCase: reopen,
    CloseCase: close,
    ChangeCasePriority: change_priority,
    EscalateCase: escalate,
    RecordSlaBreach: record_breach,
}
