"""Posts one webhook request and says what came back, never raising: a timeout, a refused
connection or a bad answer is an outcome like any status code.

Each request thread keeps one connection open per receiver (``http.client``, which costs
about half the CPU per request of a pooled client here, so one dispatcher sends twice as
many). A kept-alive connection the receiver closed meanwhile is found on reuse and the
request sent once more on a new one, as browsers do; the receiver may then see it twice,
which at-least-once delivery allows (the ``webhook-id`` is the same).
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: The most of a receiver's answer that is read (only its status matters); the connection
#: of a longer one is closed rather than drained.
MAX_ANSWER = 64 * 1024
USER_AGENT = "eventcrm-webhooks/1"
#: What a reused connection raises when the receiver had closed it.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)

_Key = tuple[str, str, int]


@dataclass(frozen=True)
class Answer:
    status: int | None
    latency_ms: float
    error: str | None = None


class Sender:
    """Thread-safe: each thread has connections of its own. Redirects are not followed (a
    3xx is a failed attempt); ``timeout`` bounds connecting and each wait for data."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        started = time.perf_counter()
        parts = urlsplit(url)
        key: _Key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, **headers}
        for attempt in (1, 2):
            conn, reused = self._connection(key)
            try:
                conn.request("POST", target, body=body, headers=sent)
                response = conn.getresponse()
                response.read(MAX_ANSWER)
                if response.will_close or not response.isclosed():
                    self._drop(key, conn)  # closing, or more answer than is read
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
                return Answer(response.status, _ms(started), error)
            except _STALE as exc:
                self._drop(key, conn)
                if reused and attempt == 1:
                    continue
                return Answer(None, _ms(started), _reason(exc))
            except Exception as exc:  # every failure to get an answer is an outcome to record
                self._drop(key, conn)
                return Answer(None, _ms(started), _reason(exc))
        raise AssertionError("unreachable: the second attempt always returns")

    def _connection(self, key: _Key) -> tuple[http.client.HTTPConnection, bool]:
        held: dict[_Key, http.client.HTTPConnection] = self._local.__dict__.setdefault("held", {})
        conn = held.get(key)
        if conn is not None:
            return conn, True
        scheme, host, port = key
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
        held[key] = conn
        with self._lock:
            self._opened.append(conn)
        return conn, False

    def _drop(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.__dict__.get("held", {}).pop(key, None)
        with self._lock:
            if conn in self._opened:
                self._opened.remove(conn)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _reason(exc: Exception) -> str:
    """What went wrong, briefly (``TimeoutError: timed out``, ``ConnectionRefusedError: …``)."""
    text = str(exc).split("\n")[0][:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
