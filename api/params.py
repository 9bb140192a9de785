"""Query parameters bounded to what the stores and date arithmetic can take, so a value
from a URL answers 422, never a 500 from deep inside a query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import AfterValidator, AwareDatetime, Field
from starlette.middleware.base import RequestResponseEndpoint

from api.problems import problem
from commands.limits import EARLIEST, LATEST, MAX_INT

#: Deeper than any page anyone reads; far below what a 64-bit column holds.
MAX_OFFSET = 1_000_000_000
#: Lead scores are sums of configured points: this is beyond any real one.
MAX_SCORE = 1_000_000_000


def _within_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must fall between {EARLIEST} and {LATEST}")
    return value


Day = Annotated[date, AfterValidator(_within_range)]
Instant = Annotated[AwareDatetime, AfterValidator(_within_range)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Score = Annotated[int, Field(ge=-MAX_SCORE, le=MAX_SCORE)]
assert MAX_OFFSET < MAX_INT and MAX_SCORE < MAX_INT


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def refuse_unstorable_text(request: Request, call_next: RequestResponseEndpoint) -> Response:
        """A NUL or bytes that are not UTF-8 in the path or query can reach no store: 422."""
        raw = request.scope.get("query_string", b"") + request.scope.get("raw_path", b"")
        decoded = unquote_to_bytes(raw)
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "\x00" in text:
            what = "a NUL character" if text is not None else "bytes that are not UTF-8"
            return problem(422, "invalid_text", f"the URL holds {what}", request.url.path)
        return await call_next(request)
