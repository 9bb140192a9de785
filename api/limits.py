"""Refuses request bodies larger than any command may be, before they are read whole.

The command layer refuses a command whose values exceed what an event may hold
(``commands.limits``); this guard keeps a much larger body from being parsed at all.
Bodies are counted as they arrive, so a missing or false ``Content-Length`` changes nothing.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem
from commands.limits import MAX_COMMAND_BYTES

#: Room for JSON syntax and escapes around the largest command's values.
MAX_BODY_BYTES = 4 * MAX_COMMAND_BYTES


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        # Read the body here, up to the limit, then hand it on: the application sees it whole
        # or not at all, whatever its framing.
        body: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await self._refuse(scope, receive, send)
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(body), "more_body": False}
        await self.app(scope, _replay([whole], then=receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "payload_too_large",
            f"the request body exceeds {self.limit:,} bytes; a command's values may take at most {MAX_COMMAND_BYTES:,}",
            scope.get("path"),
        )
        await response(scope, receive, send)


def install(app: FastAPI, limit: int = MAX_BODY_BYTES) -> None:
    app.add_middleware(BodyLimit, limit=limit)  # type: ignore[arg-type]


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A ``receive`` that answers ``messages``, then defers to ``then`` (a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
