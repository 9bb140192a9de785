"""Every error the API answers is RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from commands.errors import ConcurrencyConflict, NotFound
from commands.limits import PayloadTooLarge
from domain.errors import DomainError, InvalidValue
from streams.faults import OUTAGE_TYPES, is_outage

MEDIA_TYPE = "application/problem+json"
#: Seconds a client is asked to wait when a store is down.
RETRY_AFTER = 5

log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    422: "Invalid request",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raised by routes for errors that are not the domain's (auth, headers)."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def problem(
    status: int,
    code: str,
    detail: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:eventcrm:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **({"instance": instance} if instance else {}),
        **extra,
    }
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def status_of(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PayloadTooLarge):
        return 413
    if isinstance(error, InvalidValue):
        return 422
    return 409  # rule violations and concurrency conflicts


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem(status_of(exc), exc.code, exc.detail, request.url.path)

    @app.exception_handler(Problem)
    async def api_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", ""), "kind": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['location']))}: {e['message']}" for e in errors)
        return problem(422, "validation_error", detail or "invalid request", request.url.path, errors=errors)

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not is_outage(exc):  # a Kafka error that retrying cannot cure
            return await internal_error(request, exc)
        log.warning("%s %s: a store is unavailable: %s", request.method, request.url.path, exc)
        gate = getattr(request.app.state, "store_gate", None)
        if gate is not None:
            gate.trip()
        return problem(
            503,
            "store_unavailable",
            "a store this request needs is not answering; retry shortly (a command with the same "
            "Idempotency-Key, so that it is recorded at most once)",
            request.url.path,
            headers={"Retry-After": str(RETRY_AFTER)},
        )

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        """Still problem+json; the details stay in the server's log."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal_error", "the server failed to answer; the error is in its log", request.url.path)

    for outage in OUTAGE_TYPES:
        app.add_exception_handler(outage, store_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), request.url.path)


__all__ = ["ConcurrencyConflict", "Problem", "install", "problem"]
