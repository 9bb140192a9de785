"""Sign-in and sign-out, and the app's front door.

With API keys, a visitor types a key once; it is kept in an HttpOnly, SameSite=Strict
cookie and checked on every request like a bearer key (a revoked key signs out at once).
Without keys (the embedded default, on loopback), the app is open as the API is, and the
form only asks for a name to record as the actor, as ``X-Actor`` does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import FailedLogins
from api.deps import Services
from api.problems import Problem
from web.pages import (
    ACTOR_COOKIE,
    KEY_COOKIE,
    NAV,
    PREFIX,
    SESSION_COOKIE,
    check_csrf,
    clear_cookie,
    new_session,
    principal_of,
    render,
    set_cookie,
    visible_nav,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Text = Annotated[str, Form(max_length=500)]


def _next(target: str | None) -> str:
    """Only a path of this app: never another site (an open redirect)."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith(("//", f"{PREFIX}//")):
        return target
    return f"{PREFIX}/"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The first section the visitor's roles may see."""
    services: Services = request.app.state.services
    principal = await run_in_threadpool(principal_of, request, services)
    nav = visible_nav(request, principal)
    if nav:
        return RedirectResponse(nav[0].path, status_code=303)
    return render(request, "home.html", None, principal=principal, sections=NAV)


@router.get("/signin", response_class=HTMLResponse)
async def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    services: Services = request.app.state.services
    keyed = await run_in_threadpool(services.keys_required)
    return render(request, "signin.html", keyed=keyed, next=_next(next), error=None)


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    key: Text = "",
    name: Annotated[str, Form(max_length=200)] = "",
    next: Text = "",
) -> Response:
    await check_csrf(request)  # no forged sign-in into someone else's key either
    services: Services = request.app.state.services
    keyed = await run_in_threadpool(services.keys_required)
    target = _next(next)
    fresh = new_session()  # a new session at sign-in: one planted before it is worth nothing
    if keyed:
        client = request.client.host if request.client else "?"
        failures: FailedLogins = request.app.state.failed_logins
        if failures.blocked(client):
            raise Problem(429, "too_many_failures", "too many failed authentications from this address; wait a minute")
        found = await run_in_threadpool(services.key_ring.find, key.strip()) if key.strip() else None
        if found is None:
            failures.failed(client)
            return render(
                request,
                "signin.html",
                status_code=401,
                keyed=True,
                next=target,
                error="That key is unknown or revoked. Check it and try again.",
            )
        response: Response = RedirectResponse(target, status_code=303)
        set_cookie(request, response, KEY_COOKIE, key.strip())
    else:
        response = RedirectResponse(target, status_code=303)
        set_cookie(request, response, ACTOR_COOKIE, name.strip() or "anonymous")
    set_cookie(request, response, SESSION_COOKIE, fresh)
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    """Needs no permission of any page, only this session's token."""
    await check_csrf(request)
    response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
    for name in (KEY_COOKIE, ACTOR_COOKIE):
        clear_cookie(request, response, name)
    set_cookie(request, response, SESSION_COOKIE, new_session())
    return response
