"""Direct, short checks that a dependency answers: for readiness, never for work.

Each check opens its own connection with a deadline, so that a pool's retries and
timeouts (right for work, too slow for a probe) never delay the answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from crm.settings import hide_passwords
from dsn import parse
from streams.kafka import KafkaClients


def database(url: str, deadline: float) -> None:
    """``SELECT 1`` on the database of a ``postgresql://`` or ``sqlite:///`` URL."""
    parsed = parse(url)
    if parsed.path is not None:
        path = parsed.path
        if not path.parent.is_dir():
            raise FileNotFoundError(f"no folder {path.parent}")
        with sqlite3.connect(path, timeout=deadline) as conn:
            conn.execute("SELECT 1")
        return
    import psycopg

    with psycopg.connect(url, connect_timeout=max(int(deadline), 1)) as conn:
        conn.execute("SELECT 1")


def kafka(clients: KafkaClients, deadline: float) -> None:
    """The cluster's metadata, within the deadline."""
    timeout_ms = int(deadline * 1000)
    # kafka-python 3 bounds the first connection with bootstrap_timeout_ms (it has no
    # api_version_auto_timeout_ms: passing it fails every probe); the deadline wins over a
    # request timeout passed through from the settings.
    admin = clients.admin(request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)
    try:
        admin.describe_cluster()
    finally:
        admin.close()


def all_of(checks: Mapping[str, Callable[[], None]], deadline: float) -> dict[str, str]:
    """Runs the checks at once; each answers ``ok``, its error, or that it timed out."""
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="probe")
    try:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        answers = {}
        for name, future in futures.items():
            try:
                future.result(timeout=deadline + 1.0)
                answers[name] = "ok"
            except FutureTimeout:
                answers[name] = f"no answer within {deadline:.0f}s"
            except Exception as exc:
                answers[name] = f"{type(exc).__name__}: {_first_line(exc)}"
        return answers
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _first_line(error: Exception) -> str:
    """The error's first line, never with a password (a driver may quote the DSN)."""
    text = str(error).strip()
    return hide_passwords(text.splitlines()[0]) if text else "failed"
