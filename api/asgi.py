"""Helpers for the API's middlewares, written as plain ASGI rather than Starlette's
``BaseHTTPMiddleware``: that one runs every request through a task group, memory streams
and a re-wrapped response, which cost more CPU than the command a request carries."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URL
from starlette.types import Scope


def path_of(scope: Scope) -> str:
    """The path as ``Request.url.path`` answers it, which problem answers and logs show."""
    return URL(scope=scope).path


def state_of(scope: Scope) -> dict[str, Any]:
    """The dict behind ``request.state``, which routes fill in (the caller, masking)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    return state
