"""Support-case commands and their handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.errors import NotFound
from commands.results import CommandResult
from commands.routing import find_agent, move_load, require_agent_skill
from domain.case import Case
from domain.case_thread import CaseThread
from domain.contact import Contact
from domain.meta import Meta


@dataclass(frozen=True)
class OpenCase:
    contact_id: UUID
    subject: str
    priority: str = "normal"
    channel: str = "email"
    at: datetime | None = None
    skill: str | None = None
    #: An import keeps the cases another CRM already had as they were: no repeat is linked.
    link_duplicates: bool = True


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
class SetCaseSkill:
    """The skill the case needs (``None``: none); routing and assignment follow it."""

    case_id: UUID
    skill: str | None
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
    """A case the same person opened about the same subject within the duplicate window is
    linked to the earlier one and closed at once; the case, its thread and the link are one
    transaction, so two such cases opened together cannot both be originals."""
    contact = uow.load(Contact, command.contact_id)
    contact.require_active()  # no new cases for a merged or erased contact
    at = uow.at(command.at)
    case = Case.open(
        contact_id=contact.id,
        subject=command.subject,
        priority=command.priority,
        channel=command.channel,
        policy=uow.config.sla_policy,
        at=at,
        meta=meta,
        skill=command.skill,
    )
    answer: dict[str, Any] = {"first_response_due": case.first_response_due, "resolution_due": case.resolution_due}
    if not command.link_duplicates:
        return uow.save(case, status=case.status, duplicate_of=None, **answer)
    try:
        thread = uow.load(CaseThread, CaseThread.id_for(contact.id, case.subject))
    except NotFound:
        thread = CaseThread.start(contact.id, case.subject, meta)
    original = thread.original_within(at, uow.config.duplicate_window)
    if original is not None:
        case.link_duplicate(original, at, meta)
    thread.add(case.id, original, at, meta)
    return uow.save(
        case,
        thread,
        status=case.status,
        duplicate_of=str(original) if original is not None else None,
        **answer,
    )


def _moved(uow: UnitOfWork, case: Case, before: str | None, meta: Meta, **extra: Any) -> CommandResult:
    """Saves the case with the agents whose load it changed."""
    return uow.save(case, *move_load(uow, case, before, uow.now, meta), status=case.status, **extra)


def assign(command: AssignCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    before = case.agent
    if command.agent != before:
        require_agent_skill(find_agent(uow, command.agent), command.agent, case.skill)
    case.assign(command.agent, uow.at(command.at), meta)
    return _moved(uow, case, before, meta)


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
    return _moved(uow, case, case.agent, meta)


def reopen(command: ReopenCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.reopen(uow.at(command.at), meta, uow.config.sla_policy)
    return _moved(uow, case, case.agent, meta)


def close(command: CloseCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.close(uow.at(command.at), meta)
    return _moved(uow, case, case.agent, meta)


def change_priority(command: ChangeCasePriority, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.change_priority(command.priority, uow.config.sla_policy, uow.now, meta, command.reason)
    return uow.save(case, priority=case.priority)


def set_skill(command: SetCaseSkill, meta: Meta, uow: UnitOfWork) -> CommandResult:
    case = uow.load(Case, command.case_id, command.expected_version)
    case.set_skill(command.skill, uow.now, meta)
    return uow.save(case, skill=case.skill)


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
    SetCaseSkill: set_skill,
    EscalateCase: escalate,
    RecordSlaBreach: record_breach,
}
