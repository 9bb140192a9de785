"""What every page of the web app is built from: who is looking (the session's cookies),
what they may see (the API's permissions and masking, not a second policy), forms and htmx
requests protected against cross-site forgery, commands run on the viewer's behalf, and
templates rendered into the shared layout.

A page route lists ``page_permit("<permission>")`` as its ``Viewer``; that one dependency
signs the visitor in (or sends them to the sign-in page), refuses a role without the
permission, checks the CSRF token of every request that is not a read, and marks the
request masked when only a masked role (analyst) grants what is read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from api.access import ALL_PERMISSIONS, FailedLogins, Principal
from api.deps import Services
from api.masking import mask
from api.problems import Problem
from api.trail import TrailRecorder
from commands.results import CommandResult
from domain.errors import DomainError
from domain.meta import Meta

PREFIX = "/app"
HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")


def when(value: object) -> str:
    """A stored instant as people read it: ``2026-03-01 09:30:05 UTC`` (to the second)."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")


TEMPLATES.env.filters["when"] = when

#: A random value per browser, set on its first visit; the CSRF token is derived from it.
SESSION_COOKIE = "crm_session"
#: The API key typed at sign-in (when the API has keys).
KEY_COOKIE = "crm_key"
#: The name a visitor gives in open mode (no keys), recorded as the actor like ``X-Actor``.
ACTOR_COOKIE = "crm_actor"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class NavEntry:
    path: str
    label: str
    permission: str


#: The sections in the header, each shown to the roles whose permissions allow it, and only
#: once a route serves it.
NAV: tuple[NavEntry, ...] = (
    NavEntry(f"{PREFIX}/contacts", "Contacts", "contacts:read"),
    NavEntry(f"{PREFIX}/board", "Deals", "deals:read"),
    NavEntry(f"{PREFIX}/cases", "Cases", "cases:read"),
    NavEntry(f"{PREFIX}/dashboards", "Dashboards", "analytics:read"),
    NavEntry(f"{PREFIX}/audit", "Audit", "audit:read"),
)


class SignInRequired(Exception):
    """No valid key in the session while the API has keys: the visitor signs in first."""


def csrf_token(session: str, key: str | None) -> str:
    """Tied to both cookies: a page of another site can neither read them nor compute it,
    and a session cookie planted by a neighbour is useless without the victim's key."""
    return hmac.new(session.encode(), b"csrf:" + (key or "").encode(), hashlib.sha256).hexdigest()


def session_of(request: Request) -> str:
    """The browser's session value (the middleware sets one on the first visit)."""
    return str(getattr(request.state, "web_session", "") or request.cookies.get(SESSION_COOKIE, ""))


def csrf_for(request: Request) -> str:
    return csrf_token(session_of(request), request.cookies.get(KEY_COOKIE))


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


@dataclass
class Refusal:
    """A command the domain refused (or bad input): the rule's stable code and message."""

    status: int
    code: str
    detail: str


@dataclass
class Viewer:
    """The signed-in visitor of one request, and what the page may do for them."""

    request: Request
    services: Services
    principal: Principal
    permission: str
    csrf_token: str
    nav: list[NavEntry] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def masked(self) -> bool:
        """True when personal fields must not be shown (the API's rule for this permission)."""
        return self.principal.masked_for(self.permission)

    def may(self, permission: str) -> bool:
        return self.principal.may(permission)

    def show(self, value: Any) -> Any:
        """A read model's dict or list as this viewer may see it (personal fields masked)."""
        return mask(value) if self.masked else value

    def trail(self) -> TrailRecorder:
        """Records reads of personal data under the page's route template, as the API does."""
        route: Any = self.request.scope.get("route")
        template = getattr(route, "path", None) or self.request.url.path
        return TrailRecorder(self.services, self.name, f"{self.request.method} {template}")

    def run(self, command: object) -> CommandResult:
        """Runs a command as this viewer; a refusal raises the domain's error, which the
        error handler shows as the rule's message (in the page's alert region for htmx)."""
        command_id = str(uuid.uuid4())
        meta = Meta(actor=self.name, correlation_id=command_id, causation_id=command_id)
        return self.services.commands.execute(command, meta, None)

    def attempt(self, command: object) -> CommandResult | Refusal:
        """Like ``run``, but a refusal comes back as a value, for a page that shows it in place."""
        from api.problems import status_of

        try:
            return self.run(command)
        except DomainError as refused:
            return Refusal(status_of(refused), refused.code, refused.detail)


def principal_of(request: Request, services: Services) -> Principal:
    """The API's rules, read from cookies instead of headers."""
    if not services.keys_required():
        name = (request.cookies.get(ACTOR_COOKIE) or "").strip()[:200] or "anonymous"
        return Principal(name, frozenset(), open=True)
    key = request.cookies.get(KEY_COOKIE)
    if not key:
        raise SignInRequired()
    client = request.client.host if request.client else "?"
    failures: FailedLogins = request.app.state.failed_logins
    if failures.blocked(client):
        raise Problem(429, "too_many_failures", "too many failed authentications from this address; wait a minute")
    found = services.key_ring.find(key)
    if found is None:  # revoked since sign-in, or a forged cookie: counted like a wrong key
        failures.failed(client)
        raise SignInRequired()
    return found


async def _submitted_token(request: Request) -> str:
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request) -> None:
    """Every request that may change something carries the session's token."""
    if request.method in SAFE_METHODS:
        return
    if not hmac.compare_digest((await _submitted_token(request)).encode(), csrf_for(request).encode()):
        raise Problem(
            403, "csrf_failed", "this form is out of date or came from another site; reload the page and try again"
        )


def visible_nav(request: Request, principal: Principal) -> list[NavEntry]:
    served: frozenset[str] = getattr(request.app.state, "web_paths", frozenset())
    return [entry for entry in NAV if entry.path in served and principal.may(entry.permission)]


def page_permit(permission: str) -> DependsParam:
    """The ``Viewer`` of a page that needs ``permission``: sign-in, role, CSRF, masking."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def viewer(request: Request) -> Viewer:
        services: Services = request.app.state.services
        principal = await run_in_threadpool(principal_of, request, services)
        request.state.principal = principal  # the access log names the caller
        if not principal.may(permission):
            roles = ", ".join(sorted(principal.roles)) or "none"
            raise Problem(403, "forbidden", f"{principal.name} (roles: {roles}) may not {permission}")
        await check_csrf(request)
        # Any JSON this page answers is masked by the API's middleware too.
        request.state.masked = principal.masked_for(permission)
        nav = visible_nav(request, principal)
        return Viewer(request, services, principal, permission, csrf_for(request), nav)

    viewer.permission = permission  # type: ignore[attr-defined]
    return Depends(viewer)


def render(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A template rendered into the layout (or alone, as a fragment, if it does not extend it)."""
    values = {
        "viewer": viewer,
        "nav": viewer.nav if viewer else [],
        "csrf_token": viewer.csrf_token if viewer else csrf_for(request),
        "htmx": is_htmx(request),
        **context,
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code, headers=dict(headers or {}))


def new_session() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure
    when served over https."""
    response.set_cookie(
        name, value, path=PREFIX, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=PREFIX, httponly=True, samesite="strict", secure=request.url.scheme == "https")
