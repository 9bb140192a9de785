"""A webhook receiver on loopback for tests: records every request it gets, and answers
what the test's ``answer`` function says (200 unless told otherwise)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def key(self) -> tuple[str, int]:
        """(subject, sequence): one event of one aggregate."""
        event = self.event
        return event["subject"], event["sequence"]


class Receiver:
    def __init__(self, answer: Callable[[dict[str, Any], int], int] | None = None) -> None:
        """``answer(event, attempt)`` gives the status for the ``attempt``-th request (from
        1) carrying that event."""
        self.answer = answer or (lambda event, attempt: 200)
        self.requests: list[Received] = []
        self._tries: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = json.loads(body)
                with receiver._lock:
                    attempt = receiver._tries[event["id"]] = receiver._tries.get(event["id"], 0) + 1
                    status = receiver.answer(event, attempt)
                    receiver.requests.append(Received(time.monotonic(), dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
