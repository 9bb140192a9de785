"""Webhook subscriptions: who is called, for which events, from where in the event log.

A subscription is kept in a table rather than as events: it holds a signing secret that
must be readable to sign with and must be gone when the subscription is deleted, which an
append-only log cannot promise. Who changed it is in the service's API key and the access
log; what it was sent is in its delivery log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from domain.integrity import format_time
from streams.feed import event_types
from webhooks import signing
from webhooks.tables import ATTEMPTS, DELIVERIES, SUBSCRIPTIONS, ensure

#: How long a rotated-out secret still signs, unless the rotation says otherwise.
DEFAULT_OVERLAP = 24 * 3600.0
MAX_URL = 2000
MAX_SUBJECTS = 1000

_COLUMNS = (
    "id, url, types, subjects, description, status, reason, secret, old_secret, old_secret_until, "
    "cursor, failing_since, created_at, created_by, updated_at"
)


class SubscriptionError(ValueError):
    """A request about subscriptions that cannot be honoured; ``code`` is stable."""

    def __init__(self, code: str, detail: str, status: int = 422) -> None:
        self.code = code
        self.status = status
        super().__init__(detail)


def not_found(subscription_id: str) -> SubscriptionError:
    return SubscriptionError("subscription_not_found", f"no subscription {subscription_id}", 404)


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host: where the dispatcher can POST."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > MAX_URL
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        raise SubscriptionError(
            "invalid_url", f"the URL must be an absolute http(s) URL of at most {MAX_URL} characters"
        )
    return url


def check_subjects(subjects: Sequence[str]) -> list[str]:
    """Aggregate ids (UUIDs), normalized."""
    if len(subjects) > MAX_SUBJECTS:
        raise SubscriptionError("too_many_subjects", f"at most {MAX_SUBJECTS} subjects per subscription")
    try:
        return sorted({str(uuid.UUID(s)) for s in subjects})
    except ValueError:
        raise SubscriptionError("invalid_subject", "subjects are aggregate ids (UUIDs)") from None


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    types: list[str]
    subjects: list[str]
    description: str
    status: str
    reason: str | None
    cursor: int
    failing_since: float | None
    created_at: float
    created_by: str
    updated_at: float
    secret: str = field(repr=False)
    old_secret: str | None = field(default=None, repr=False)
    old_secret_until: float | None = None

    @property
    def event_types(self) -> tuple[str, ...]:
        """The concrete event types its patterns name (all, without patterns)."""
        return event_types(self.types)

    def as_dict(self) -> dict[str, Any]:
        """What the API shows: never a secret."""
        return {
            "id": self.id,
            "url": self.url,
            "types": self.types,
            "subjects": self.subjects,
            "description": self.description,
            "status": self.status,
            "reason": self.reason,
            "position": self.cursor,
            "failing_since": iso_time(self.failing_since),
            "created_at": iso_time(self.created_at),
            "created_by": self.created_by,
            "updated_at": iso_time(self.updated_at),
            "previous_secret_until": iso_time(self.old_secret_until)
            if self.old_secret_until and self.old_secret_until > time.time()
            else None,
        }


def iso_time(seconds: float | None) -> str | None:
    return None if seconds is None else format_time(datetime.fromtimestamp(seconds, UTC))


def _row(row: Sequence[Any]) -> Subscription:
    (
        sid,
        url,
        types,
        subjects,
        description,
        status,
        reason,
        secret,
        old,
        old_until,
        cursor,
        failing,
        created,
        by,
        updated,
    ) = row
    return Subscription(
        id=sid,
        url=url,
        types=json.loads(types),
        subjects=json.loads(subjects),
        description=description,
        status=status,
        reason=reason,
        cursor=int(cursor),
        failing_since=failing,
        created_at=created,
        created_by=by,
        updated_at=updated,
        secret=secret,
        old_secret=old,
        old_secret_until=old_until,
    )


class Subscriptions:
    """The subscriptions table (``db`` is the event store's database; see
    ``projections.oltp.db.OltpDatabase``)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        ensure(db)

    def create(
        self,
        url: str,
        types: Sequence[str],
        subjects: Sequence[str],
        start: int,
        actor: str,
        description: str = "",
    ) -> tuple[Subscription, str]:
        """A new active subscription whose first event is the one after position ``start``;
        answers it and its secret (shown this once)."""
        url, subjects = check_url(url), check_subjects(subjects)
        types = sorted(set(types))
        event_types(types)  # raises UnknownTypes
        secret = signing.new_secret()
        now = time.time()
        sid = str(uuid.uuid4())
        ph = ", ".join([self.db.ph] * 15)
        with self.db.reading() as conn, self.db.transaction(conn):
            conn.execute(
                f"INSERT INTO {SUBSCRIPTIONS} ({_COLUMNS}) VALUES ({ph})",
                (
                    sid,
                    url,
                    json.dumps(types),
                    json.dumps(subjects),
                    description,
                    "active",
                    None,
                    secret,
                    None,
                    None,
                    start,
                    None,
                    now,
                    actor,
                    now,
                ),
            )
        return self.get(sid), secret

    def get(self, subscription_id: str) -> Subscription:
        with self.db.reading() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM {SUBSCRIPTIONS} WHERE id = {self.db.ph}", (subscription_id,)
            ).fetchone()
        if row is None:
            raise not_found(subscription_id)
        return _row(row)

    def all(self, status: str | None = None) -> list[Subscription]:
        where, params = ("", ()) if status is None else (f" WHERE status = {self.db.ph}", (status,))
        with self.db.reading() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM {SUBSCRIPTIONS}{where} ORDER BY created_at, id", params
            ).fetchall()
        return [_row(row) for row in rows]

    def update(
        self,
        subscription_id: str,
        *,
        url: str | None = None,
        types: Sequence[str] | None = None,
        subjects: Sequence[str] | None = None,
        description: str | None = None,
        status: str | None = None,
    ) -> Subscription:
        """Changes what is given. ``status`` ``paused`` stops deliveries where they are
        (nothing is skipped: they go on from there on ``active``); ``active`` also re-enables
        a disabled subscription and forgets why it was disabled."""
        changes: dict[str, Any] = {}
        if url is not None:
            changes["url"] = check_url(url)
        if types is not None:
            event_types(types)
            changes["types"] = json.dumps(sorted(set(types)))
        if subjects is not None:
            changes["subjects"] = json.dumps(check_subjects(subjects))
        if description is not None:
            changes["description"] = description
        if status is not None:
            if status not in ("active", "paused"):
                raise SubscriptionError("invalid_status", "status is 'active' or 'paused'")
            changes["status"] = status
            if status == "active":
                changes["reason"] = None
                changes["failing_since"] = None
        changes["updated_at"] = time.time()
        ph = self.db.ph
        assignments = ", ".join(f"{name} = {ph}" for name in changes)
        with self.db.reading() as conn, self.db.transaction(conn):
            found = conn.execute(
                f"UPDATE {SUBSCRIPTIONS} SET {assignments} WHERE id = {ph}", (*changes.values(), subscription_id)
            ).rowcount
        if not found:
            raise not_found(subscription_id)
        return self.get(subscription_id)

    def rotate(self, subscription_id: str, overlap: float = DEFAULT_OVERLAP) -> tuple[Subscription, str]:
        """A new secret; the one it replaces still signs for ``overlap`` seconds."""
        secret = signing.new_secret()
        now = time.time()
        ph = self.db.ph
        with self.db.reading() as conn, self.db.transaction(conn):
            found = conn.execute(
                f"UPDATE {SUBSCRIPTIONS} SET old_secret = secret, old_secret_until = {ph}, secret = {ph}, "
                f"updated_at = {ph} WHERE id = {ph}",
                (now + overlap, secret, now, subscription_id),
            ).rowcount
        if not found:
            raise not_found(subscription_id)
        return self.get(subscription_id), secret

    def delete(self, subscription_id: str) -> None:
        """The subscription, its secret and its delivery log."""
        ph = self.db.ph
        with self.db.reading() as conn, self.db.transaction(conn):
            found = conn.execute(f"DELETE FROM {SUBSCRIPTIONS} WHERE id = {ph}", (subscription_id,)).rowcount
            conn.execute(f"DELETE FROM {DELIVERIES} WHERE subscription_id = {ph}", (subscription_id,))
            conn.execute(f"DELETE FROM {ATTEMPTS} WHERE subscription_id = {ph}", (subscription_id,))
        if not found:
            raise not_found(subscription_id)
