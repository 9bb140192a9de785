"""Posts one webhook request and says what came back, never raising: a timeout, a refused
connection or a bad answer is an outcome like any status code."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import urllib3

#: The most of a receiver's answer that is read (only its status matters); the connection
#: of a longer one is closed rather than drained.
MAX_ANSWER = 64 * 1024
USER_AGENT = "eventcrm-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status: int | None
    latency_ms: float
    error: str | None = None


class Sender:
    """Keeps connections to each receiver open between requests (``concurrency`` at most
    per host); thread-safe. Redirects are not followed: a 3xx is a failed attempt."""

    def __init__(self, timeout: float, concurrency: int) -> None:
        self._pool = urllib3.PoolManager(
            num_pools=256,
            maxsize=concurrency,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(total=timeout),
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        started = time.perf_counter()
        try:
            response = self._pool.request(
                "POST",
                url,
                body=body,
                headers={"User-Agent": USER_AGENT, **headers},
                redirect=False,
                preload_content=False,
            )
            try:
                response.read(MAX_ANSWER)
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
                return Answer(response.status, _ms(started), error)
            finally:
                if response.length_remaining:
                    response.close()
                response.release_conn()
        except Exception as exc:  # every failure to get an answer is an outcome to record
            return Answer(None, _ms(started), _reason(exc))

    def close(self) -> None:
        self._pool.clear()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _reason(exc: Exception) -> str:
    """The innermost cause, briefly (``ReadTimeoutError``: …, ``ConnectionRefusedError``)."""
    while isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    text = str(exc).split("\n")[0][:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
