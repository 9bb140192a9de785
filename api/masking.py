"""Personal fields masked for the roles that must never see them (analysts).

Applied to every JSON answer of such a caller, in one place, so that a new read route is
masked from its first day. What counts as personal: names, emails and phones of people,
and free text about them (a case's subject, a contact's title, a duplicate group's key,
which is a normalised email, phone or name). Ids, stages, scores, amounts and dates stay.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import state_of

MASK = "[masked]"

#: Keys masked wherever they appear.
ALWAYS = frozenset({"email", "phone", "contact_name"})
#: Keys masked in objects that describe a person (those with an ``email`` or a lifecycle stage).
OF_A_PERSON = frozenset({"name", "title"})
#: An activity's free text (in objects with a ``regarding_type``): it may name the person.
_ACTIVITY_TEXT = frozenset({"subject", "outcome", "cancel_reason"})


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
        hide = hide or (key in _ACTIVITY_TEXT and "regarding_type" in value)  # an activity's, likewise
        hide = hide or (key == "key" and "reason" in value)  # a duplicate group's shared email, phone or name
        masked[key] = MASK if hide and item is not None else mask(item)
    return masked


class MaskPersonalFields:
    """Rewrites a masked caller's JSON answer, which it must hold whole to parse; every
    other answer, event streams included, passes through as it is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def send_masked(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                # Set by the route's permission check: only a masked role granted what was read.
                if state_of(scope).get("masked", False) and _is_json(message):
                    start = message
                    return
            elif start is not None and message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                shown = json.dumps(mask(json.loads(b"".join(body))), separators=(",", ":")).encode()
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(shown)).encode("latin-1")))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": shown})
                return
            await send(message)

        await self.app(scope, receive, send_masked)


def _is_json(start: Message) -> bool:
    for key, value in start.get("headers", ()):
        if key.lower() == b"content-type":
            return bool(value.startswith(b"application/json"))
    return False


def install(app: FastAPI) -> None:
    app.add_middleware(MaskPersonalFields)
