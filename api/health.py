"""Liveness and readiness, for load balancers and operators, and the gate that answers 503
at once while a store is known to be down.

``/healthz`` says the process answers. ``/readyz`` asks each dependency directly, each
within a short deadline, and names the ones that are down. While a request has just found
a store down, the next ones are answered 503 with ``Retry-After`` straight away rather
than each waiting out the store's timeouts; after that pause requests go through again,
so the API recovers by itself when the store does.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import path_of
from api.deps import ServicesDep
from api.problems import RETRY_AFTER, problem

router = APIRouter(tags=["ops"])


class StoreGate:
    """Remembers for ``pause`` seconds that a store was found down."""

    def __init__(self, pause: float = RETRY_AFTER) -> None:
        self._pause = pause
        self._closed_until = 0.0
        self._lock = threading.Lock()

    def trip(self) -> None:
        with self._lock:
            self._closed_until = time.monotonic() + self._pause

    def closed(self) -> bool:
        return time.monotonic() < self._closed_until


class AnswerWhileDown:
    """While ``gate`` is closed, every ``/v1/`` request is answered 503 without being run."""

    def __init__(self, app: ASGIApp, gate: StoreGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.gate.closed():
            path = path_of(scope)
            if path.startswith("/v1/"):
                refusal = problem(
                    503,
                    "store_unavailable",
                    "a store this request needs was not answering moments ago; retry shortly",
                    path,
                    headers={"Retry-After": str(RETRY_AFTER)},
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, gate: StoreGate) -> None:
    app.state.store_gate = gate
    app.add_middleware(AnswerWhileDown, gate=gate)  # type: ignore[arg-type]
    app.include_router(router)


@router.get("/healthz", summary="The process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    return healthz()


@router.get(
    "/readyz",
    summary="Every dependency answers",
    responses={503: {"description": "a dependency is down; `checks` names it"}},
)
def readyz(services: ServicesDep) -> Any:
    """Each dependency (event store, read model, Kafka when used) and what it answered:
    ``ok``, or why not. 200 when all are ok, 503 otherwise."""
    checks = services.readiness()
    ready = all(answer == "ok" for answer in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    if ready:
        return body
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})
