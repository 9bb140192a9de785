"""A program serving known data: the scripted month of tests/integration/analytics_month.py
(every metric's figures worked out by hand) and a case queue with deadlines around now,
recorded through the command layer before `crm serve` starts on the same data folder.

The board, case-queue and dashboards tests share one such server (the board's tests add
pipelines of their own, dated now: the dashboards' test reads the scripted months only).
pytest would start one per module from an imported fixture, so the first module to ask
starts it and the session's end stops it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from tests.browser.conftest import LiveServer
from tests.integration.analytics_month import Clock, Month, record_month


@dataclass
class Scripted:
    server: LiveServer
    month: Month
    #: The queue's cases by name: breached, soon, later (open) and expired (resolved long ago).
    cases: dict[str, UUID]


def record_queue(container: object) -> tuple[dict[str, UUID], int]:
    """Cases whose deadlines fall around now (urgent 1h/4h, high 4h/24h, normal 8h/72h, low
    24h/168h; reopen window 168h): one breached, two due later, one resolved too long ago."""
    from commands.bus import CommandBus
    from commands.case import OpenCase, RecordSlaBreach, ResolveCase, RespondToCase
    from commands.contact import CreateContact
    from commands.handlers import HANDLERS
    from domain.meta import Meta

    now = datetime.now(UTC)
    clock = Clock()
    bus = CommandBus(container.store, container.commands.config, HANDLERS, clock=clock)  # type: ignore[attr-defined]
    meta = Meta("script", "case-queue", "case-queue")
    positions = [0]

    def at(when: datetime, command: object) -> UUID:
        clock.now = when
        result = bus.execute(command, meta)
        positions.append(result.position or 0)
        return result.id

    contact = at(now - timedelta(hours=400), CreateContact("Queue Quinn", "quinn@queue.example", owner="sam"))
    cases = {
        "expired": at(now - timedelta(hours=300), OpenCase(contact, "Old low case", "low", "web")),
        "breached": at(now - timedelta(hours=3), OpenCase(contact, "Urgent, overdue", "urgent", "phone")),
        "soon": at(now - timedelta(hours=1), OpenCase(contact, "High, due in 3h", "high", "email")),
        "later": at(now - timedelta(minutes=30), OpenCase(contact, "Normal, due in 7h", "normal", "chat")),
    }
    at(now - timedelta(hours=299), RespondToCase(cases["expired"], "lou"))
    at(now - timedelta(hours=200), ResolveCase(cases["expired"], "fixed"))
    at(now - timedelta(hours=1), RecordSlaBreach(cases["breached"], "first_response"))
    return cases, max(positions)


_started: list[Scripted] = []


@pytest.fixture(scope="session")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scripted]:
    if _started:
        yield _started[0]
        return
    from crm.settings import Settings
    from crm.wiring import Container

    folder = tmp_path_factory.mktemp("scripted")
    with Container(Settings(data_dir=folder / "data")) as container:
        month = record_month(container)
        cases, last = record_queue(container)
    live = LiveServer(folder / "data", folder / "serve.log")
    _wait_for_warehouse(live, last)
    for case in cases.values():
        _wait_for_case(live, case)
    _started.append(Scripted(live, month, cases))
    yield _started[0]
    live.stop()


def _wait_for_case(live: LiveServer, case: UUID, within: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if httpx.get(f"{live.base}/v1/cases/{case}", headers={"X-Actor": "test"}, timeout=5).status_code == 200:
            return
        time.sleep(0.1)
    pytest.fail(f"case {case} not in the read model within {within}s")


def _wait_for_warehouse(live: LiveServer, position: int, within: float = 20.0) -> None:
    """The warehouse is projected apart from the API: wait until it holds the script."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        answer = httpx.get(f"{live.base}/v1/analytics/funnel", headers={"X-Actor": "test"}, timeout=5)
        if answer.status_code == 200 and answer.json()["computed_from"]["position"] >= position:
            return
        time.sleep(0.1)
    pytest.fail(f"the warehouse did not reach position {position} within {within}s: {live.output()}")
