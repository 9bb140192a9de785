"""The FastAPI application. Long-lived clients come from the services, opened once."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

import web
from api import (
    accesslog,
    accounts,
    activities,
    agents,
    analytics,
    audit,
    campaigns,
    cases,
    contacts,
    contract,
    contracts,
    deals,
    events,
    health,
    integrity,
    limits,
    masking,
    orders,
    params,
    pipelines,
    price_lists,
    problems,
    products,
    quotes,
    subscriptions,
)
from api.access import FailedLogins
from api.deps import Services


def create_app(
    services: Services, on_start: Callable[[], object] | None = None, on_stop: Callable[[], object] | None = None
) -> FastAPI:
    """``on_start``/``on_stop`` run background workers alongside the API (``crm serve``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_start:
            on_start()
        try:
            yield
        finally:
            if on_stop:
                on_stop()

    app = FastAPI(
        title="eventcrm",
        version="0.1.0",
        description="An event-sourced CRM. Commands answer the aggregate's new version and the "
        "event-store position of its last event; reads come from the projections.",
        lifespan=lifespan,
    )
    app.state.services = services
    #: Set when the server is told to stop: open event streams end so that it can.
    app.state.stopping = threading.Event()
    app.state.failed_logins = FailedLogins()
    problems.install(app)
    limits.install(app)
    params.install(app)
    masking.install(app)
    accesslog.install(app)
    health.install(app, health.StoreGate())
    for module in (
        contacts,
        accounts,
        pipelines,
        deals,
        cases,
        campaigns,
        products,
        price_lists,
        quotes,
        orders,
        contracts,
        activities,
        agents,
        audit,
        integrity,
        analytics,
        events,
        subscriptions,
    ):
        app.include_router(module.router)
    app.include_router(contract.router)  # public, like /openapi.json
    web.install(app)  # the pages under /app/, and / leading there
    return app
