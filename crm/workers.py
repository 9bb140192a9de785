"""Runs the relay and projectors in background threads of one process (``crm serve``).

A worker that fails is started again from its stored position after a pause: a crash
loses nothing, because positions only move once rows (or broker acknowledgements) are
durable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Workers:
    def __init__(self, restart_delay: float = 2.0) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._restart_delay = restart_delay

    def add(self, name: str, build: Callable[[], object], run: Callable[[object, threading.Event], None]) -> None:
        """``build`` makes the worker (again after a failure); ``run`` runs it until stop."""

        def supervise() -> None:
            while not self._stop.is_set():
                worker = None
                try:
                    worker = build()
                    run(worker, self._stop)
                except Exception:
                    log.exception("%s failed; restarting from its stored position", name)
                    self._stop.wait(self._restart_delay)
                finally:
                    close = getattr(worker, "close", None)
                    if close is not None:
                        close()

        thread = threading.Thread(target=supervise, name=name, daemon=True)
        self._threads.append(thread)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
