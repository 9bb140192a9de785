"""The cases one person opened about one subject: how a repeated ticket is recognised.

A person who writes twice about the same thing (a second email, a call after a web form)
should not have two agents working on it. The thread's id follows from the contact and
the subject's key (case, ``Re:``/``Fwd:`` prefixes and spacing ignored), so opening a case
finds its thread without a lookup, and two cases opened at once race on the thread: one
of them sees the other.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue
from domain.instants import require_aware
from domain.meta import Meta

_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|tr)\s*:\s*)+", re.IGNORECASE)
_SPACE = re.compile(r"[\s\W_]+")


def subject_key(subject: str) -> str:
    """``"RE: Fwd:  Cannot log in!"`` and ``"cannot log in"`` are the same thing."""
    return _SPACE.sub(" ", _PREFIX.sub("", subject).casefold()).strip()


def subject_digest(subject: str) -> str:
    """What the thread keeps of the subject: a digest, since a subject may name people."""
    return hashlib.sha256(subject_key(subject).encode()).hexdigest()


def thread_id(contact_id: UUID, digest: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"urn:eventcrm:case-thread:{contact_id}:{digest}")


class CaseThread(Aggregate):
    """Holds case ids, instants and the subject's digest only: the subject itself stays on
    the case, where erasure reaches it."""

    TOPIC = "crm.case_thread"

    class Created(Aggregate.Created):
        """Never recorded itself (threads are created by ``Started``); see ``Case.Created``."""

        TOPIC = "crm.case_thread.created"

    class Started(Created):
        TOPIC = "crm.case_thread.started.v1"
        contact_id: UUID
        digest: str
        meta: Meta

    class CaseAdded(Aggregate.Event):
        TOPIC = "crm.case_thread.case_added.v1"
        case_id: UUID
        duplicate_of: UUID | None
        at: datetime
        meta: Meta

    @staticmethod
    def create_id(contact_id: UUID, digest: str) -> UUID:
        return thread_id(contact_id, digest)

    @classmethod
    def id_for(cls, contact_id: UUID, subject: str) -> UUID:
        return thread_id(contact_id, subject_digest(subject))

    @classmethod
    def start(cls, contact_id: UUID, subject: str, meta: Meta) -> CaseThread:
        if not isinstance(contact_id, UUID) or not subject_key(subject):
            raise InvalidValue("a case thread needs a contact and a subject")
        return cls(contact_id=contact_id, digest=subject_digest(subject), meta=meta)

    def original_within(self, at: datetime, window: timedelta) -> UUID | None:
        """The latest case of the thread that is not itself a duplicate and was opened no
        longer than ``window`` before ``at``."""
        require_aware(at)
        for case_id, opened_at, duplicate_of in reversed(self.cases):
            if duplicate_of is None and at - opened_at <= window:
                return case_id
        return None

    def add(self, case_id: UUID, duplicate_of: UUID | None, at: datetime, meta: Meta) -> None:
        if any(case_id == known for known, _, _ in self.cases):
            return
        self._case_added(case_id=case_id, duplicate_of=duplicate_of, at=require_aware(at), meta=meta)

    @event(Started)
    def __init__(self, contact_id: UUID, digest: str, meta: Meta) -> None:
        self.contact_id = contact_id
        self.digest = digest
        self.cases: list[tuple[UUID, datetime, UUID | None]] = []

    @event(CaseAdded)
    def _case_added(self, case_id: UUID, duplicate_of: UUID | None, at: datetime, meta: Meta) -> None:
        self.cases = [*self.cases, (case_id, at, duplicate_of)]
