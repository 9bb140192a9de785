"""Supervises the long-running pieces (the relay, projectors, automations, the SLA
watcher) in background threads: of ``crm serve``, or alone in a process of their own.

A worker that fails is closed and built again from its stored position after a pause that
doubles with each failure in a row (to 30 s) and starts over once it ran for a while: an
outage of PostgreSQL or Kafka heals by itself, and a crash loses nothing, because positions
only move once rows (or broker acknowledgements) are durable. Stopping is bounded: a
worker stuck in a client call is abandoned after the grace period, which is safe for the
same reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from streams.faults import Backoff, is_outage

W = TypeVar("W")

log = logging.getLogger(__name__)

#: A worker that ran this long before failing starts its backoff over.
HEALTHY_AFTER = 60.0


class Workers:
    def __init__(self, first_delay: float = 0.5, max_delay: float = 30.0) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._first_delay = first_delay
        self._max_delay = max_delay
        #: Failures per worker name since start (for tests and status).
        self.failures: dict[str, int] = {}

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def add(self, name: str, build: Callable[[], W], run: Callable[[W, threading.Event], None]) -> None:
        """``build`` makes the worker (again after a failure); ``run`` runs it until stop."""
        self.failures[name] = 0

        def supervise() -> None:
            backoff = Backoff(self._first_delay, self._max_delay)
            while not self._stop.is_set():
                worker: W | None = None
                started = time.monotonic()
                try:
                    worker = build()
                    run(worker, self._stop)
                except Exception as exc:
                    self.failures[name] += 1
                    if time.monotonic() - started > HEALTHY_AFTER:
                        backoff.reset()
                    wait = backoff.next_wait()
                    if is_outage(exc):
                        log.warning("%s: %s; retrying in %.1fs from its stored position", name, exc, wait)
                    else:
                        log.exception("%s failed; restarting in %.1fs from its stored position", name, wait)
                    self._stop.wait(wait)
                finally:
                    _close(worker)

        thread = threading.Thread(target=supervise, name=name, daemon=True)
        self._threads.append(thread)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Asks every worker to stop and waits at most ``timeout`` seconds in all; answers
        whether all of them stopped (the rest are daemon threads, abandoned at exit)."""
        self._stop.set()
        give_up = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(give_up - time.monotonic(), 0))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("still busy after %.0fs, abandoned: %s", timeout, ", ".join(stuck))
        return not stuck

    def run_until_stopped(self, stop: threading.Event, grace: float = 8.0) -> None:
        """Starts the workers and blocks until ``stop`` is set (a signal), then stops them
        within ``grace`` seconds."""
        self.start()
        while not stop.wait(1.0):
            pass
        self.stop(grace)


def _close(worker: object) -> None:
    close = getattr(worker, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:  # a worker broken by an outage may not close cleanly
        log.debug("closing a failed worker: %s", exc)
