"""Query parameters bounded to what the stores and date arithmetic can take, so a value
from a URL answers 422, never a 500 from deep inside a query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from pydantic import AfterValidator, AwareDatetime, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import path_of
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


class RefuseUnstorableText:
    """A NUL or bytes that are not UTF-8 in the path or query can reach no store: 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("query_string", b"") + scope.get("raw_path", b"")
            try:
                text: str | None = unquote_to_bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None or "\x00" in text:
                what = "a NUL character" if text is not None else "bytes that are not UTF-8"
                refusal = problem(422, "invalid_text", f"the URL holds {what}", path_of(scope))
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(RefuseUnstorableText)
