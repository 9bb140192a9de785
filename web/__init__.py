"""The web app: server-rendered pages (Jinja2 and htmx) under ``/app/``, on the API's own
FastAPI application, for the people who use the CRM (see docs/WEB.md)."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import path_of
from web.pages import HERE, PREFIX, SESSION_COOKIE, SignInRequired, is_htmx, new_session, render, set_cookie

#: The modules whose ``router`` serves pages; each page names its permission beside it.
PAGES = ("web.signin", "web.contacts", "web.audit", "web.board", "web.cases", "web.dashboards")

STATIC = f"{PREFIX}/static"

#: Nothing but this origin: no inline script or style, no framing, forms post here only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

Handler = Callable[[Request, Exception], Any]


def install(app: FastAPI) -> None:
    """Serves the pages and their static files, and ``/`` sends a browser to them."""
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="web-static")
    paths: set[str] = set()
    for name in PAGES:
        router = importlib.import_module(name).router
        app.include_router(router)
        paths.update(route.path for route in router.routes if isinstance(route, APIRoute))
    app.state.web_paths = frozenset(paths)  # the sections the header may link to

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    app.add_middleware(SessionAndHeaders)
    app.add_exception_handler(SignInRequired, _sign_in)
    _pages_answer_html(app)


def _is_page(path: str) -> bool:
    return (path == PREFIX or path.startswith(f"{PREFIX}/")) and not path.startswith(f"{STATIC}/")


class SessionAndHeaders:
    """Gives a browser its session value on its first page, and every page the headers
    that keep it to this origin and out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The raw path starts with the prefix whenever the parsed one does: most requests
        # (the API's) are passed on without parsing it.
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        path = path_of(scope)
        if not (path == PREFIX or path.startswith(f"{PREFIX}/")):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        fresh = None
        if len(request.cookies.get(SESSION_COOKIE, "")) < 32:
            fresh = new_session()
        request.state.web_session = fresh or request.cookies[SESSION_COOKIE]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if fresh is not None and not any(
                    c.startswith(f"{SESSION_COOKIE}=") for c in headers.getlist("set-cookie")
                ):
                    # The same Set-Cookie as a page that sets it itself (web.pages.set_cookie).
                    cookie = Response()
                    set_cookie(request, cookie, SESSION_COOKIE, fresh)
                    for value in cookie.headers.getlist("set-cookie"):
                        headers.append("set-cookie", value)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                if _is_page(path):
                    headers["Cache-Control"] = "no-store"  # pages show personal data
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _sign_in(request: Request, exc: Exception) -> Response:
    target = f"{PREFIX}/signin?next={request.url.path}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _pages_answer_html(app: FastAPI) -> None:
    """The API's handlers decide status, code and message for every error; a page shows
    them as HTML (for htmx, in the page's alert region) instead of problem+json."""
    for kind, handler in list(app.exception_handlers.items()):
        if kind is not SignInRequired:
            app.exception_handlers[kind] = _as_page(handler)


def _as_page(handler: Handler) -> Handler:
    async def answer(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        if not _is_page(request.url.path) or not isinstance(response, Response):
            return response
        problem = json.loads(bytes(response.body))
        headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
        if is_htmx(request):
            headers |= {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"}
            return render(request, "problem.html", status_code=response.status_code, headers=headers, problem=problem)
        principal = getattr(request.state, "principal", None)
        return render(
            request, "error.html", status_code=response.status_code, headers=headers, problem=problem, signed=principal
        )

    return answer
