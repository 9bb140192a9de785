"""The server's access log: method, path, status, time and who asked; never the query
string or a body, which may hold a name or an email (``GET /v1/contacts?email=…``).
Paths hold only ids. uvicorn's own access log, which prints query strings, is off
(``crm serve``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

log = logging.getLogger("eventcrm.access")


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        caller = getattr(request.state, "principal", None)
        log.info(
            "%s %s %s %.1fms %s",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            caller.name if caller is not None else "-",
        )
        return response
