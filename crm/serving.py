"""``crm serve --workers N``: N API processes on one port, beside one set of background
workers.

The parent process binds the port, runs the relay, the projectors, the automations, the SLA
watcher and the webhook dispatcher once (unless ``--api-only``), and keeps N uvicorn worker
processes alive. Each worker builds its own parts from the same settings (``api_worker``,
the factory uvicorn calls in the child), so it has its own connections and its own group
commit; they share the event store through PostgreSQL, whose unique constraint on
(aggregate, version) decides every race between them, exactly as between separate
``crm serve --api-only`` processes.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from crm.settings import Settings

#: Every line names its process, so that what each worker served can be told apart.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"


def refusal(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` API processes cannot share these stores, or ``None`` if they can."""
    if workers <= 1:
        return None
    embedded = [
        what
        for what, setting in (("event store", settings.event_store), ("operational read model", settings.oltp_dsn))
        if setting is None
    ]
    if not embedded:
        return None
    return (
        f"--workers {workers} needs PostgreSQL for the {' and the '.join(embedded)}: the embedded SQLite "
        "stores belong to one process. Set CRM_EVENT_STORE and CRM_OLTP_DSN to postgresql://… URLs "
        "(see the README), or serve with --workers 1."
    )


def api_worker() -> FastAPI:
    """The application of one worker process (uvicorn's factory, called in the child):
    the API only, its parts closed when the worker stops."""
    from api.app import create_app
    from crm.wiring import Container

    # Spawned, not forked: the parent's --log-level reaches this process as uvicorn's own.
    level = logging.getLogger("uvicorn").level or logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, force=True)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    container = Container(Settings())
    logging.getLogger("crm").info("API worker process %d serving", os.getpid())
    return create_app(container, on_stop=container.close)
