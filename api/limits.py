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


class _TooLarge(Exception):
    pass


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
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

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
