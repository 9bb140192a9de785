"""Every page of the web app, answered on the demo data (``crm demo``'s year of activity).

The store is filled as ``crm demo`` fills it (the same story, seed and projections), then
each page is asked for ``--rounds`` times through the whole application (middleware,
sign-in dependency, templates; in process, no network) and its median answer time reported.
Baseline, in the same run: the JSON API's read of the same contact
(``GET /v1/contacts/{id}``), the cheapest read a page builds on. The target is every page
under 300 ms.

    python -m bench.pages [--contacts 300] [--rounds 25] [--quick]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from api.app import create_app
from bench.common import median, write_section
from crm import story
from crm.settings import Settings
from crm.wiring import PROJECTIONS, Container

#: The target the issue sets for every page.
TARGET_MS = 300.0
#: Measured too, but not pages: a button's action that walks the whole event store, as
#: ``GET /v1/audit/verify`` does (its cost grows with the store, by design).
ACTIONS = frozenset({"audit, integrity check"})


def fill(container: Container, contacts: int, seed: int) -> None:
    """What ``crm demo`` records and projects."""
    story.record_year(container.commands.execute, contacts, seed)
    watcher = container.sla_watcher()
    watcher.catch_up()
    watcher.tick()
    container.automations().run_until_idle(timeout=0.05)
    for name in PROJECTIONS:
        container.projector(name).run_until_idle(timeout=0.05)
    container.olap_publisher().publish()


def busiest_contact(container: Container) -> tuple[str, int]:
    """The contact with the longest timeline: the slowest contact and audit pages."""
    with container.oltp.reading() as conn:
        row = conn.execute("SELECT subject, count(*) FROM timeline GROUP BY subject ORDER BY 2 DESC LIMIT 1").fetchone()
    return str(row[0]), int(row[1])


def pages(client: TestClient, container: Container, contact: str) -> dict[str, str]:
    """Each page's address, with the demo's own values in its filters."""
    first = container.contact_queries.get(contact) or {}
    name = str(first.get("name") or "a").split()[0].lower()
    tag = (first.get("tags") or ["vip"])[0]
    served = client.app.state.web_paths  # type: ignore[attr-defined]
    wanted = {
        "contacts": "/app/contacts",
        "contacts, search by name": f"/app/contacts/results?q={name}",
        "contacts, tag and score range": f"/app/contacts/results?tag={tag}&min_score=10&max_score=500",
        "contact page": f"/app/contacts/{contact}",
        "contact page, poll with news": f"/app/contacts/{contact}/live?mark=x",
        "contact page, poll without news": f"/app/contacts/{contact}/live?mark={current_mark(client, contact)}",
        "audit": "/app/audit",
        "audit of a contact": f"/app/audit/contacts/{contact}",
        "audit, as of an earlier event": f"/app/audit/contacts/{contact}/state?at=3",
        "audit, integrity check": "/app/audit/verify",
    }
    for path, label in (("/app/board", "deals board"), ("/app/cases", "case queue"), ("/app/dashboards", "dashboards")):
        if path in served:  # the pages of the other sections, where they exist
            wanted[label] = path
    return wanted


def current_mark(client: TestClient, contact: str) -> str:
    """What an open contact page sends while it is up to date."""
    page = client.get(f"/app/contacts/{contact}", headers={"X-Actor": "bench"}).text
    found = re.search(r"/live\?mark=([0-9-]+)", page)
    if found is None:
        raise SystemExit("the contact page holds no live poll")
    return found.group(1)


def measure(call: Callable[[], Any], rounds: int) -> float:
    """Median milliseconds of ``rounds`` calls, after one unmeasured call (caches)."""
    call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return median(times)


def get(client: TestClient, path: str) -> Callable[[], Any]:
    def call() -> Any:
        answer = client.get(path, headers={"X-Actor": "bench"})
        if answer.status_code not in (200, 204):
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
        return answer

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=300, help="the demo's size (crm demo's default)")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a quarter of the contacts, fewer rounds; docs untouched")
    args = parser.parse_args()
    contacts, rounds = (
        (max(20, args.contacts // 4), min(args.rounds, 8)) if args.quick else (args.contacts, args.rounds)
    )

    with tempfile.TemporaryDirectory() as folder, Container(Settings(data_dir=Path(folder) / "data")) as container:
        started = time.perf_counter()
        fill(container, contacts, args.seed)
        events = container.store.recorder.max_notification_id() or 0
        print(f"demo data: {contacts} contacts, {events} events in {time.perf_counter() - started:.0f}s")
        contact, timeline = busiest_contact(container)
        client = TestClient(create_app(container))
        baseline = measure(get(client, f"/v1/contacts/{contact}"), rounds)
        results = {
            label: measure(get(client, path), rounds) for label, path in pages(client, container, contact).items()
        }

    rows = [f"| {label} | {ms:.1f} | {ms / baseline:.1f}× |" for label, ms in results.items()]
    print(f"baseline GET /v1/contacts/{{id}}: {baseline:.1f} ms (the contact has {timeline} timeline events)")
    for label, ms in results.items():
        print(f"  {label:34} {ms:8.1f} ms  {ms / baseline:6.1f}×")
    slowest = max((label for label in results if label not in ACTIONS), key=lambda label: results[label])
    over = [label for label, ms in results.items() if ms > TARGET_MS and label not in ACTIONS]
    print("every page under 300 ms" if not over else f"over 300 ms: {', '.join(over)}")
    if not args.quick:
        body = (
            f"Every page of the web app on `crm demo`'s data ({contacts} contacts, {events} events), asked "
            f"{rounds} times each in process (middleware, sign-in, templates; no network), median. The contact "
            f"is the one with the longest timeline ({timeline} events). Baseline: the JSON API's "
            f"`GET /v1/contacts/{{id}}` of that contact, {baseline:.1f} ms. Target: every page under "
            f"{TARGET_MS:.0f} ms ({'met' if not over else 'missed by ' + ', '.join(over)}); the integrity check is "
            "a button's action over the whole store, not a page, and is shown for scale.\n\n"
            "| page | median ms | × baseline |\n| --- | --- | --- |\n" + "\n".join(rows)
        )
        write_section("Web pages", body)
    print(
        f"bench pages: slowest page ({slowest}) {results[slowest]:.1f} ms "
        f"({results[slowest] / baseline:.1f}× GET /v1/contacts/{{id}})"
    )


if __name__ == "__main__":
    main()
