"""The delivery queue: which event goes to which subscription next, who is sending it, and
what became of every attempt. Shared by every dispatcher process through the event
store's database (see ``webhooks.tables`` for the states a delivery goes through).

Sharing is safe because:

- a dispatcher *claims* deliveries by writing a lease (its name and a time) on them, in one
  statement that skips rows another holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
  has one writer at a time), and records an outcome only where its lease still stands;
- only ``ready`` deliveries are claimed and a subject has at most one, so no two
  dispatchers ever send two events of one subject at the same time, and a later event is
  never sent before an earlier one was delivered or given up;
- adding deliveries (``fan_out``) and finishing them both lock the subscription's row
  first, so a delivery queued behind one being finished is always promoted.

A crash loses nothing: the subscription's position moves in the transaction that adds
its deliveries, and a claimed delivery whose dispatcher died is claimed again when its
lease runs out (at once by the same instance when it restarts: ``release``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from streams.envelope import event_id
from webhooks.retries import next_delay
from webhooks.subscriptions import Subscription, iso_time, not_found
from webhooks.tables import ATTEMPTS, DELIVERIES, SUBSCRIPTIONS, ensure

#: The delivery log's filters, and the states each shows.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "pending": ("ready", "queued"),
    "failing": ("ready",),
    "delivered": ("delivered",),
    "dead": ("dead",),
}
#: Subjects per statement when a list of them is spelled out (SQLite's limit is far above).
_CHUNK = 500


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds the lease of."""

    subscription_id: str
    position: int
    subject: str
    event_id: str
    tries: int
    attempts: int
    #: Where it goes and the secrets that sign it, as they stood when it was claimed.
    url: str = ""
    secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status, or no answer (``status`` None) and why."""

    claimed: Claimed
    status: int | None
    latency_ms: float
    error: str | None = None
    at: float = 0.0
    #: Not worth trying again (the event cannot be made into a request): given up at once.
    hopeless: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


class Deliveries:
    def __init__(self, db: Any, delays: Sequence[float], disable_after: float) -> None:
        """``delays``: the retry schedule (``webhooks.retries``); ``disable_after``: seconds
        without any successful delivery after which a failing subscription is disabled."""
        self.db = db
        self.delays = tuple(delays)
        self.disable_after = disable_after
        self._local = threading.local()
        ensure(db)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection for one use: pooled on PostgreSQL; on SQLite, one kept per thread
        (opening one costs more than most of what the dispatcher asks)."""
        if self.db.kind != "sqlite":
            with self.db.reading() as conn:
                yield conn
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.db.connect()
        yield conn

    @contextmanager
    def together(self) -> Iterator[None]:
        """One transaction for every change the block makes through this queue in this
        thread (a dispatcher's step: one commit, and on SQLite one wait for the write lock,
        instead of one per job)."""
        with self._connection() as conn, self.db.transaction(conn):
            self._local.held = conn
            try:
                yield
            finally:
                self._local.held = None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        held = getattr(self._local, "held", None)
        if held is not None:
            yield held
            return
        with self._connection() as conn, self.db.transaction(conn):
            yield conn

    # -- adding ------------------------------------------------------------------------

    def fan_out(self, subscription: Subscription, notifications: Sequence[Any], next_cursor: int) -> bool:
        """Adds a delivery for each notification and moves the subscription's position to
        ``next_cursor``, unless another dispatcher moved it since ``subscription`` was read
        (or it was paused or deleted): then nothing, and it answers False."""
        now = time.time()
        ph = self.db.ph
        with self._transaction() as conn:
            # Locked (on PostgreSQL) as finishing locks it: see ``_lock``.
            lock = " FOR UPDATE" if self.db.kind == "postgresql" else ""
            row = conn.execute(
                f"SELECT cursor, status FROM {SUBSCRIPTIONS} WHERE id = {ph}{lock}", (subscription.id,)
            ).fetchone()
            if row is None or int(row[0]) != subscription.cursor or row[1] != "active":
                return False
            rows = [
                (
                    subscription.id,
                    n.id,
                    str(n.originator_id),
                    n.topic,
                    event_id(str(n.originator_id), n.originator_version),
                    now,
                    now,
                )
                for n in notifications
            ]
            self.db.executemany(
                conn,
                f"INSERT INTO {DELIVERIES} (subscription_id, position, subject, event_type, event_id, state, due, "
                f"created_at) VALUES ({ph}, {ph}, {ph}, {ph}, {ph}, 'queued', {ph}, {ph}) "
                "ON CONFLICT (subscription_id, position) DO NOTHING",
                rows,
            )
            self._promote(conn, subscription.id, {r[2] for r in rows}, now)
            conn.execute(f"UPDATE {SUBSCRIPTIONS} SET cursor = {ph} WHERE id = {ph}", (next_cursor, subscription.id))
        return True

    # -- sending -----------------------------------------------------------------------

    def _due(self, picked: str, now: float, skip: Collection[str]) -> tuple[str, list[Any]]:
        """The query of due deliveries of active subscriptions (but those in ``skip``), oldest
        due first, selecting ``picked``; its last placeholder is the limit."""
        ph = self.db.ph
        excluded = f" AND d.subscription_id NOT IN ({', '.join([ph] * len(skip))})" if skip else ""
        sql = (
            f"SELECT {picked} FROM {DELIVERIES} d JOIN {SUBSCRIPTIONS} s ON s.id = d.subscription_id "
            f"WHERE d.state = 'ready' AND d.due <= {ph} AND (d.lease IS NULL OR d.lease < {ph}) "
            f"AND s.status = 'active'{excluded} ORDER BY d.due LIMIT {ph}"
        )
        return sql, [now, now, *skip]

    def anything_due(self, skip: Collection[str] = ()) -> bool:
        """Whether ``claim`` would find anything, asked without taking the write lock."""
        sql, params = self._due("1", time.time(), skip)
        with self._connection() as conn:
            return conn.execute(sql, (*params, 1)).fetchone() is not None

    def claim(self, owner: str, limit: int, lease_seconds: float, skip: Collection[str] = ()) -> list[Claimed]:
        """Takes the lease of up to ``limit`` due deliveries of active subscriptions (but
        those in ``skip``), oldest due first."""
        if limit <= 0:
            return []
        now = time.time()
        ph = self.db.ph
        picked = "d.rowid" if self.db.kind == "sqlite" else "d.subscription_id, d.position"
        due, due_params = self._due(picked, now, skip)
        params: list[Any] = [now + lease_seconds, owner, *due_params, limit]
        returning = "subscription_id, position, subject, event_id, tries, attempts"
        with self._transaction() as conn:
            if self.db.kind == "sqlite":
                rows = conn.execute(
                    f"UPDATE {DELIVERIES} SET lease = ?, lease_owner = ? WHERE rowid IN ({due}) RETURNING {returning}",
                    params,
                ).fetchall()
            else:
                rows = conn.execute(
                    f"UPDATE {DELIVERIES} AS t SET lease = %s, lease_owner = %s "
                    f"FROM ({due} FOR UPDATE OF d SKIP LOCKED) AS c "
                    "WHERE t.subscription_id = c.subscription_id AND t.position = c.position "
                    f"RETURNING {', '.join('t.' + c.strip() for c in returning.split(','))}",
                    params,
                ).fetchall()
            ids = sorted({r[0] for r in rows})
            targets = (
                {
                    t[0]: t
                    for t in conn.execute(
                        f"SELECT id, url, secret, old_secret, old_secret_until FROM {SUBSCRIPTIONS} "
                        f"WHERE id IN ({', '.join([ph] * len(ids))})",
                        ids,
                    ).fetchall()
                }
                if ids
                else {}
            )
        claimed = []
        for sid, position, subject, ev_id, tries, attempts in rows:
            _, url, secret, old, old_until = targets[sid]
            secrets = (secret, old) if old and old_until and now < old_until else (secret,)
            claimed.append(Claimed(sid, int(position), subject, ev_id, tries, attempts, url, secrets))
        return sorted(claimed, key=lambda c: c.position)

    def record(self, owner: str, outcomes: Sequence[Outcome]) -> None:
        """Writes what the attempts got, in one transaction: delivered, tried again later
        (the schedule's next delay), or given up; 410 Gone disables the subscription, and so
        does failing without a single success for ``disable_after`` seconds. An outcome whose
        lease was lost (it ran out and another dispatcher took the delivery) changes nothing
        but the attempt log."""
        if not outcomes:
            return
        now = time.time()
        ph = self.db.ph
        sender = owner.split("/")[0]
        delivered, retried, dead, gone = [], [], [], []
        attempts = []
        finished: dict[str, set[str]] = {}
        for o in outcomes:
            c = o.claimed
            key = (c.subscription_id, c.position, owner)
            attempts.append(
                (c.subscription_id, c.position, c.attempts + 1, o.at or now, o.status, o.latency_ms, o.error, sender)
            )
            if o.ok:
                delivered.append((o.status, now, *key))
                finished.setdefault(c.subscription_id, set()).add(c.subject)
            elif o.gone:
                gone.append((o.status, o.error, now, *key))
            else:
                delay = None if o.hopeless else next_delay(self.delays, c.tries + 1)
                if delay is None:
                    dead.append((o.status, o.error, now, *key))
                    finished.setdefault(c.subscription_id, set()).add(c.subject)
                else:
                    retried.append((o.status, o.error, now + delay, *key))
        mine = f"subscription_id = {ph} AND position = {ph} AND lease_owner = {ph} AND state = 'ready'"
        cleared = "lease = NULL, lease_owner = NULL, attempts = attempts + 1"
        sub_ids = sorted({o.claimed.subscription_id for o in outcomes})
        with self._transaction() as conn:
            self._lock(conn, sub_ids)
            ex = self.db.executemany
            ex(
                conn,
                f"UPDATE {DELIVERIES} SET state = 'delivered', {cleared}, last_status = {ph}, last_error = NULL, "
                f"finished_at = {ph} WHERE {mine}",
                delivered,
            )
            ex(
                conn,
                f"UPDATE {DELIVERIES} SET state = 'dead', {cleared}, tries = tries + 1, last_status = {ph}, "
                f"last_error = {ph}, finished_at = {ph} WHERE {mine}",
                dead,
            )
            ex(
                conn,
                f"UPDATE {DELIVERIES} SET {cleared}, tries = tries + 1, last_status = {ph}, last_error = {ph}, "
                f"due = {ph} WHERE {mine}",
                retried,
            )
            ex(
                conn,
                f"UPDATE {DELIVERIES} SET {cleared}, last_status = {ph}, last_error = {ph}, due = {ph} WHERE {mine}",
                gone,
            )
            ex(
                conn,
                f"INSERT INTO {ATTEMPTS} "
                "(subscription_id, position, attempt, at, status, latency_ms, error, dispatcher) "
                f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}) ON CONFLICT DO NOTHING",
                attempts,
            )
            for sub_id, subjects in finished.items():
                self._promote(conn, sub_id, subjects, now)
            self._judge(conn, outcomes, now)

    def _judge(self, conn: Any, outcomes: Sequence[Outcome], now: float) -> None:
        """Keeps each subscription's ``failing_since`` and disables those it must."""
        ph = self.db.ph
        succeeded = {o.claimed.subscription_id for o in outcomes if o.ok}
        failed = {o.claimed.subscription_id for o in outcomes if not o.ok} - succeeded
        ex = self.db.executemany
        ex(
            conn,
            f"UPDATE {SUBSCRIPTIONS} SET failing_since = NULL WHERE id = {ph} AND failing_since IS NOT NULL",
            [(s,) for s in succeeded],
        )
        ex(
            conn,
            f"UPDATE {SUBSCRIPTIONS} SET failing_since = {ph} WHERE id = {ph} AND failing_since IS NULL",
            [(now, s) for s in failed],
        )
        days = self.disable_after / 86400
        reason = f"no delivery succeeded for {days:g} days"
        ex(
            conn,
            f"UPDATE {SUBSCRIPTIONS} SET status = 'disabled', reason = {ph}, updated_at = {ph} "
            f"WHERE id = {ph} AND status = 'active' AND failing_since < {ph}",
            [(reason, now, s, now - self.disable_after) for s in failed],
        )
        when = iso_time(now)
        ex(
            conn,
            f"UPDATE {SUBSCRIPTIONS} SET status = 'disabled', reason = {ph}, updated_at = {ph} WHERE id = {ph}",
            [
                (f"the endpoint answered 410 Gone at {when}", now, s)
                for s in {o.claimed.subscription_id for o in outcomes if o.gone}
            ],
        )

    def release(self, owner_prefix: str) -> int:
        """Gives back the leases of an earlier life of this dispatcher (its instance name
        is ``owner_prefix``; no live process holds it), so they are sent again at once."""
        ph = self.db.ph
        with self._transaction() as conn:
            return int(
                conn.execute(
                    f"UPDATE {DELIVERIES} SET lease = NULL, lease_owner = NULL "
                    f"WHERE lease_owner LIKE {ph} AND state = 'ready'",
                    (owner_prefix.replace("%", "_") + "%",),
                ).rowcount
            )

    # -- replaying ---------------------------------------------------------------------

    def replay_from(self, subscription_id: str, position: int) -> int:
        """Sends again every event of the subscription from ``position`` on (those already
        delivered or given up, and any the subscription was created after); answers how
        many were queued again. Order per subject holds from there on."""
        return self._requeue(subscription_id, "position >= {ph} AND state IN ('delivered', 'dead')", position)

    def replay_dead(self, subscription_id: str) -> int:
        """Sends the given-up deliveries again, with a fresh retry schedule; answers how many."""
        return self._requeue(subscription_id, "state = 'dead'")

    def _requeue(self, subscription_id: str, which: str, rewind_to: int | None = None) -> int:
        """Queues the subscription's deliveries ``which`` selects again (``{ph}`` in it is
        ``rewind_to``), moves its position back to before ``rewind_to`` if given, and
        promotes the first of each subject."""
        now = time.time()
        ph = self.db.ph
        extra = () if rewind_to is None else (rewind_to,)
        with self._transaction() as conn:
            self._exists(conn, subscription_id)
            count = conn.execute(
                f"UPDATE {DELIVERIES} SET state = 'queued', tries = 0, lease = NULL, lease_owner = NULL, "
                f"finished_at = NULL WHERE subscription_id = {ph} AND {which.format(ph=ph)}",
                (subscription_id, *extra),
            ).rowcount
            if rewind_to is not None:
                conn.execute(
                    f"UPDATE {SUBSCRIPTIONS} SET cursor = {ph} WHERE id = {ph} AND cursor > {ph}",
                    (rewind_to - 1, subscription_id, rewind_to - 1),
                )
            self._promote(conn, subscription_id, None, now)
        return int(count)

    # -- reading -----------------------------------------------------------------------

    def log(self, subscription_id: str, status: str | None, after: int, limit: int) -> list[dict[str, Any]]:
        """The deliveries after ``after`` in position order, each with its attempts."""
        ph = self.db.ph
        states = STATUS_FILTERS[status] if status else ()
        where = f"subscription_id = {ph} AND position > {ph}"
        params: list[Any] = [subscription_id, after]
        if states:
            where += f" AND state IN ({', '.join([ph] * len(states))})"
            params += states
        if status == "failing":
            where += " AND tries > 0"
        with self._connection() as conn:
            self._exists(conn, subscription_id)
            rows = conn.execute(
                f"SELECT position, subject, event_type, event_id, state, attempts, due, lease, created_at, finished_at "
                f"FROM {DELIVERIES} WHERE {where} ORDER BY position LIMIT {ph}",
                (*params, limit),
            ).fetchall()
            tried: dict[int, list[dict[str, Any]]] = {}
            if rows:
                for position, attempt, at, code, latency, error, sender in conn.execute(
                    f"SELECT position, attempt, at, status, latency_ms, error, dispatcher FROM {ATTEMPTS} "
                    f"WHERE subscription_id = {ph} AND position BETWEEN {ph} AND {ph} ORDER BY position, attempt",
                    (subscription_id, rows[0][0], rows[-1][0]),
                ):
                    tried.setdefault(int(position), []).append(
                        {
                            "attempt": attempt,
                            "at": iso_time(at),
                            "status_code": code,
                            "latency_ms": round(latency, 1),
                            "error": error,
                            "dispatcher": sender,
                        }
                    )
        return [_entry(row, tried.get(int(row[0]), [])) for row in rows]

    def counts(self, subscription_id: str) -> dict[str, int]:
        """Deliveries per state: ``pending`` (waiting or being retried), ``delivered``, ``dead``."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT state, COUNT(*) FROM {DELIVERIES} WHERE subscription_id = {self.db.ph} GROUP BY state",
                (subscription_id,),
            ).fetchall()
        found = dict(rows)
        return {
            "pending": int(found.get("ready", 0)) + int(found.get("queued", 0)),
            "delivered": int(found.get("delivered", 0)),
            "dead": int(found.get("dead", 0)),
        }

    def purge(self, finished_before: float) -> int:
        """Forgets deliveries delivered before then, and their attempts (``replay`` can send
        any event again from its position, so nothing is lost); answers how many."""
        ph = self.db.ph
        old = f"SELECT subscription_id, position FROM {DELIVERIES} WHERE state = 'delivered' AND finished_at < {ph}"
        with self._transaction() as conn:
            conn.execute(f"DELETE FROM {ATTEMPTS} WHERE (subscription_id, position) IN ({old})", (finished_before,))
            return int(
                conn.execute(
                    f"DELETE FROM {DELIVERIES} WHERE state = 'delivered' AND finished_at < {ph}", (finished_before,)
                ).rowcount
            )

    # -- the rules that keep order -----------------------------------------------------

    def _lock(self, conn: Any, subscription_ids: Sequence[str]) -> None:
        """Serializes adding and finishing deliveries of the same subscriptions (SQLite's
        transactions are already one at a time)."""
        if self.db.kind == "postgresql" and subscription_ids:
            conn.execute(
                f"SELECT id FROM {SUBSCRIPTIONS} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (list(subscription_ids),)
            ).fetchall()

    def _exists(self, conn: Any, subscription_id: str) -> None:
        if (
            conn.execute(f"SELECT 1 FROM {SUBSCRIPTIONS} WHERE id = {self.db.ph}", (subscription_id,)).fetchone()
            is None
        ):
            raise not_found(subscription_id)

    def _promote(self, conn: Any, subscription_id: str, subjects: Iterable[str] | None, now: float) -> None:
        """Makes the first queued delivery of each subject ready, where none is. (Two plain
        statements rather than one correlated update: both databases answer the first from
        the index of waiting deliveries, whatever the planner knows of the table.)"""
        ph = self.db.ph
        waiting = (
            f"SELECT subject, state, MIN(position) FROM {DELIVERIES} "
            f"WHERE subscription_id = {ph} AND state IN ('ready', 'queued')"
        )
        found: list[Any] = []
        if subjects is None:
            found = conn.execute(f"{waiting} GROUP BY subject, state", (subscription_id,)).fetchall()
        else:
            listed = sorted(subjects)
            for start in range(0, len(listed), _CHUNK):
                chunk = listed[start : start + _CHUNK]
                found += conn.execute(
                    f"{waiting} AND subject IN ({', '.join([ph] * len(chunk))}) GROUP BY subject, state",
                    (subscription_id, *chunk),
                ).fetchall()
        ready = {subject for subject, state, _ in found if state == "ready"}
        heads = [
            (now, subscription_id, first)
            for subject, state, first in found
            if state == "queued" and subject not in ready
        ]
        self.db.executemany(
            conn,
            f"UPDATE {DELIVERIES} SET state = 'ready', due = {ph} "
            f"WHERE subscription_id = {ph} AND position = {ph} AND state = 'queued'",
            heads,
        )


def _entry(row: Sequence[Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    position, subject, event_type, ev_id, state, count, due, lease, created, finished = row
    return {
        "position": int(position),
        "event_id": ev_id,
        "type": event_type,
        "subject": subject,
        "status": "pending" if state in ("ready", "queued") else state,
        "waiting_for_earlier": state == "queued",
        "sending": bool(lease and lease > time.time()),
        "attempts": attempts,
        "attempt_count": int(count),
        "next_attempt_at": iso_time(due) if state == "ready" else None,
        "created_at": iso_time(created),
        "finished_at": iso_time(finished),
    }
