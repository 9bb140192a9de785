"""The server's access log: method, path, status, time and who asked; never the query
string or a body, which may hold a name or an email (``GET /v1/contacts?email=…``).
Paths hold only ids. uvicorn's own access log, which prints query strings, is off
(``crm serve``)."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import path_of, state_of

log = logging.getLogger("eventcrm.access")


class AccessLog:
    """One line per answer, written when its status is known (for an event stream, when
    the stream opens), with the caller the route's permission check found."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                caller = state_of(scope).get("principal")
                log.info(
                    "%s %s %s %.1fms %s",
                    scope["method"],
                    path_of(scope),
                    message["status"],
                    (time.perf_counter() - started) * 1000,
                    caller.name if caller is not None else "-",
                )
            await send(message)

        await self.app(scope, receive, send_logged)


def install(app: FastAPI) -> None:
    app.add_middleware(AccessLog)
