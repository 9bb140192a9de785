"""Personal fields masked for the roles that must never see them (analysts).

Applied to every JSON answer of such a caller, in one place, so that a new read route is
masked from its first day. What counts as personal: names, emails and phones of people,
and free text about them (a case's subject, a contact's title, a duplicate group's key,
which is a normalised email, phone or name). Ids, stages, scores, amounts and dates stay.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response

MASK = "[masked]"

#: Keys masked wherever they appear.
ALWAYS = frozenset({"email", "phone", "contact_name"})
#: Keys masked in objects that describe a person (those with an ``email`` or a lifecycle stage).
OF_A_PERSON = frozenset({"name", "title"})


def mask(value: Any) -> Any:
    if isinstance(value, list):
        return [mask(item) for item in value]
    if not isinstance(value, dict):
        return value
    person = "email" in value or "lifecycle_stage" in value
    masked = {}
    for key, item in value.items():
        hide = key in ALWAYS or (person and key in OF_A_PERSON)
        hide = hide or (key == "subject" and "priority" in value)  # a case's subject: free text
        hide = hide or (key == "key" and "reason" in value)  # a duplicate group's shared email, phone or name
        masked[key] = MASK if hide and item is not None else mask(item)
    return masked


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def mask_personal_fields(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        # Set by the route's permission check: only a masked role granted what was read.
        masked = getattr(request.state, "masked", False)
        if not masked or not response.headers.get("content-type", "").startswith("application/json"):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        shown = json.dumps(mask(json.loads(body)), separators=(",", ":")).encode()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(shown, status_code=response.status_code, headers=headers, media_type="application/json")
