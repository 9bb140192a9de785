"""The dispatcher: follows the event store for every active subscription, as the relay
does for Kafka, and posts each event to each subscriber that wants it.

One thread does the bookkeeping (adding deliveries, claiming due ones, recording what
they got) and a pool of threads does the HTTP requests, so a slow receiver holds only the
threads of its own requests: the other subscriptions go on (each may have at most
``per_subscription`` requests in flight) and, inside a subscription, a failing subject
holds back only its own later events (``webhooks.deliveries``).

Any number of dispatchers may run, in ``crm serve`` and as ``crm deliver`` processes: they
share the work through the queue's leases.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter, OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

from streams.envelope import CONTENT_TYPE
from streams.faults import is_outage
from streams.feed import Feed, envelope_at
from webhooks import signing
from webhooks.deliveries import Claimed, Deliveries, Outcome
from webhooks.sender import Answer, Sender
from webhooks.subscriptions import Subscription, Subscriptions

log = logging.getLogger(__name__)

#: Events whose request bodies are kept in memory (several subscriptions share one).
BODY_CACHE = 20_000
#: Seconds between readings of the subscriptions (a change is seen within this).
LIST_EVERY = 1.0
#: Seconds between purges of old delivered deliveries.
PURGE_EVERY = 600.0


class Dispatcher:
    def __init__(
        self,
        store: Any,
        subscriptions: Subscriptions,
        deliveries: Deliveries,
        sender: Sender,
        instance: str,
        *,
        lease_seconds: float,
        concurrency: int = 64,
        per_subscription: int = 32,
        batch: int = 500,
        keep_seconds: float = 30 * 86400,
        poll: float = 0.25,
    ) -> None:
        """``instance`` names this dispatcher among all (unique while it runs, and the same
        when it restarts: see ``crm.instances``)."""
        self._store = store
        self._feed = Feed(store)
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._sender = sender
        self._instance = instance
        self._owner = f"{instance}/{uuid.uuid4().hex[:12]}"
        self._lease = lease_seconds
        self._concurrency = concurrency
        self._per_subscription = per_subscription
        self._batch = batch
        self._keep = keep_seconds
        self._poll = poll
        self._wake = threading.Event()
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._in_flight: Counter[str] = Counter()
        self._requests: set[Future[Answer]] = set()
        self._bodies: OrderedDict[int, bytes] = OrderedDict()
        self._unsendable: dict[int, str] = {}
        self._active: dict[str, Subscription] = {}
        self._listed = 0.0
        self._purged = 0.0
        #: Attempts recorded by this dispatcher (for status and tests).
        self.sent = 0

    def wake(self) -> None:
        """New events were saved in this process: look now rather than at the next poll."""
        self._wake.set()

    def close(self) -> None:
        self._sender.close()

    def _take_back(self) -> None:
        released = self._deliveries.release(self._instance + "/")
        if released:
            log.info("webhooks: taking back %d deliveries an earlier run of %s was sending", released, self._instance)

    def run(self, stop: threading.Event) -> None:
        self._take_back()
        pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="webhook")
        try:
            while not stop.is_set():
                if not self.step(pool):
                    self._wake.wait(self._poll)
                    self._wake.clear()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self._finish(deadline=time.monotonic() + 2.0)

    def step(self, pool: ThreadPoolExecutor) -> bool:
        """One round of bookkeeping: what the events and answers since the last round change
        is written in one transaction, and the deliveries it claimed go out once committed.
        Answers whether it found anything to do."""
        outcomes = self._answers()
        if time.monotonic() - self._listed > LIST_EVERY:
            self._active = {s.id: s for s in self._subscriptions.all("active")}
            self._listed = time.monotonic()
        head = self._feed.head()
        reads = [(s, *self._new_events(s)) for s in self._active.values() if s.cursor < head]
        reads = [(s, found, after) for s, found, after in reads if after != s.cursor]
        free = self._concurrency - sum(self._in_flight.values()) + len(outcomes)
        full = [s for s, n in self._in_flight.items() if n >= self._per_subscription]
        if not outcomes and not reads and (free <= 0 or not self._deliveries.anything_due(full)):
            self._purge()
            return False  # nothing to write: the write lock (SQLite's is the event store's too) stays free
        with self._deliveries.together():
            self._deliveries.record(self._owner, outcomes)
            moved = [(s, after, self._deliveries.fan_out(s, found, after)) for s, found, after in reads]
            claimed = self._deliveries.claim(self._owner, min(free, self._batch), self._lease, full)
        self._recorded(outcomes)
        for subscription, after, ok in moved:
            if ok:
                self._active[subscription.id] = replace(subscription, cursor=after)
            else:  # another dispatcher moved it, or it was paused: read them all again
                self._listed = 0.0
        self._send(pool, claimed)
        self._purge()
        return bool(outcomes or any(found for _, found, _ in reads) or claimed)

    def run_until_idle(self, deadline: float = 300.0) -> None:
        """Delivers until nothing is due or in flight (failed deliveries waiting for their
        next attempt are left for later): ``crm deliver --until-idle``."""
        self._take_back()
        give_up = time.monotonic() + deadline
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="webhook") as pool:
            while time.monotonic() < give_up:
                if not self.step(pool) and not sum(self._in_flight.values()):
                    return
                if sum(self._in_flight.values()):
                    self._wake.wait(self._poll)
                    self._wake.clear()

    # -- the three jobs ----------------------------------------------------------------

    def _new_events(self, subscription: Subscription) -> tuple[list[Any], int]:
        """The subscription's events after its position, their bodies made ready."""
        found, after = self._feed.notifications(
            subscription.cursor, self._batch, subscription.event_types, subscription.subjects
        )
        for notification in found:
            if notification.id not in self._bodies:
                self._remember(notification)
        return found, after

    def _send(self, pool: ThreadPoolExecutor, claimed: list[Claimed]) -> None:
        if not claimed:
            return
        bodies = self._bodies_of([c.position for c in claimed])
        now = time.time()
        for c in claimed:
            body = bodies.get(c.position)
            if body is None:  # the relay dead-letters such an event too: given up, never retried
                self._in_flight[c.subscription_id] += 1
                reason = self._unsendable.get(c.position, "the event is not in the event store")
                self._done.put(Outcome(c, None, 0.0, reason, now, hopeless=True))
                self._wake.set()
                continue
            headers = {"Content-Type": CONTENT_TYPE, **signing.headers(c.secrets, c.event_id, int(now), body)}
            self._in_flight[c.subscription_id] += 1
            future = pool.submit(self._sender.post, c.url, body, headers)
            self._requests.add(future)
            future.add_done_callback(partial(self._answered, c))

    def _answered(self, claimed: Claimed, future: Future[Answer]) -> None:
        """Runs in the request's thread: hands the outcome to the bookkeeping thread."""
        self._requests.discard(future)
        if future.cancelled():  # stopping: the lease stays, and is taken back on restart
            return
        answer = future.result()
        self._done.put(Outcome(claimed, answer.status, answer.latency_ms, answer.error, time.time()))
        self._wake.set()

    def _answers(self) -> list[Outcome]:
        outcomes = []
        while True:
            try:
                outcomes.append(self._done.get_nowait())
            except queue.Empty:
                return outcomes

    def _recorded(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            self._in_flight[o.claimed.subscription_id] -= 1
            if not self._in_flight[o.claimed.subscription_id]:
                del self._in_flight[o.claimed.subscription_id]
        self.sent += len(outcomes)

    def _record(self) -> None:
        outcomes = self._answers()
        self._deliveries.record(self._owner, outcomes)
        self._recorded(outcomes)

    def _finish(self, deadline: float) -> None:
        """On stop: records the answers that arrive in time; the rest keep their lease,
        which this instance gives back when it starts again (``release``)."""
        while self._requests and time.monotonic() < deadline:
            self._wake.wait(0.05)
            self._wake.clear()
            try:
                self._record()
            except Exception as exc:  # stopping, perhaps because the database is gone
                log.warning("webhooks: could not record the last answers: %s", exc)
                return

    def _purge(self) -> None:
        now = time.monotonic()
        if now - self._purged < PURGE_EVERY:
            return
        self._purged = now
        forgotten = self._deliveries.purge(time.time() - self._keep)
        if forgotten:
            log.info("webhooks: forgot %d deliveries delivered more than %.0f days ago", forgotten, self._keep / 86400)

    # -- request bodies ----------------------------------------------------------------

    def _remember(self, notification: Any) -> None:
        """Keeps the request body of an event. One that cannot be made (the relay
        dead-letters such an event too) is noted, and its deliveries are given up when
        claimed, so that it holds up nothing; an outage is not its fault and propagates."""
        try:
            body = envelope_at(self._store, notification).to_json()
        except Exception as exc:
            if is_outage(exc):
                raise
            log.error("webhooks: position %s cannot be sent: %s", notification.id, exc)
            self._unsendable[notification.id] = f"the event cannot be made into a request: {exc}"[:500]
            return
        self._bodies[notification.id] = body
        if len(self._bodies) > BODY_CACHE:
            self._bodies.popitem(last=False)

    def _bodies_of(self, positions: list[int]) -> dict[int, bytes]:
        missing = [p for p in positions if p not in self._bodies]
        for notification in self._feed.at(missing).values():
            self._remember(notification)
        return {p: self._bodies[p] for p in positions if p in self._bodies}
