"""`crm serve --workers N`: several API processes sharing one PostgreSQL event store, the
background workers running once, and the embedded stores refusing to be shared."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from crm.cli import main
from tests.faults.processes import (
    CRM,
    CrmProcess,
    Spawn,
    crm_env,
    group_state,
    oltp_versions,
    projector_group,
    spawner,
    wait_until,
)

ACTOR = {"X-Actor": "ana"}


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Starts `crm ARGS…`; whatever still runs at teardown is killed, its workers with it."""
    with spawner(tmp_path / "logs") as start:
        yield start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _worker_pids(server: CrmProcess) -> set[int]:
    text = server.log_path.read_text(errors="replace")
    return {int(pid) for pid in re.findall(r"API worker process (\d+) serving", text)}


def _served_by(server: CrmProcess) -> Counter[int]:
    """Requests per process, from the access log (each line names its process)."""
    text = server.log_path.read_text(errors="replace")
    return Counter(int(pid) for pid in re.findall(r"eventcrm\.access \[(\d+)\]: (?:POST|PATCH) ", text))


def _send(client: httpx.Client, method: str, url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    """One command, retried with its Idempotency-Key while the server answers 503 (PostgreSQL
    is shared with other tests here and may run out of connections for a moment)."""
    key = str(uuid.uuid4())
    for _ in range(30):
        answer = client.request(method, url, json=body, headers={**ACTOR, **headers, "Idempotency-Key": key})
        if answer.status_code != 503:
            return answer
        time.sleep(1)
    return answer


def _at_once(count: int, send: Any) -> list[httpx.Response]:
    """``send(client, i)`` from ``count`` threads released together."""
    answers: list[httpx.Response | None] = [None] * count
    start = threading.Barrier(count)

    def one(i: int) -> None:
        with httpx.Client(timeout=60) as client:
            start.wait()
            answers[i] = send(client, i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _stored(dsn: str) -> dict[str, list[tuple[int, str]]]:
    """Each contact's stored events as (version, type), in order, from the event store."""
    conn = wait_until("a connection to PostgreSQL (shared with other tests)", lambda: psycopg.connect(dsn), 60, 1.0)
    with conn:
        rows = conn.execute(
            "SELECT originator_id::text, originator_version, topic FROM eventcrm_events "
            "WHERE topic LIKE 'crm.contact.%' ORDER BY originator_id, originator_version"
        ).fetchall()
    events: dict[str, list[tuple[int, str]]] = {}
    for contact, version, topic in rows:
        events.setdefault(contact, []).append((version, topic))
    return events


def test_two_workers_share_the_event_store_and_the_background_runs_once(
    tmp_path: Path, postgres_dsn: str, kafka_bootstrap: str, topic_prefix: str, spawn: Spawn
) -> None:
    env = crm_env(
        data_dir=tmp_path / "data",
        event_store=postgres_dsn,
        oltp_dsn=postgres_dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        olap_path=tmp_path / "analytics.duckdb",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = spawn("serve", ["serve", "--workers", "2", "--port", str(port), "--insecure"], env)
    wait_until("two API workers serving", lambda: len(_worker_pids(server)) == 2 or not server.alive(), 180)
    assert server.alive(), server.log()
    wait_until("the API answering", lambda: httpx.get(f"{base}/healthz", timeout=5).status_code == 200, 60)
    workers = _worker_pids(server)
    assert server.pid not in workers  # the parent only supervises and runs the background

    # Contacts at once, then interactions on them at once, from both processes (few clients:
    # each worker holds a connection per command in flight, and PostgreSQL is shared).
    created = _at_once(8, lambda c, i: _send(c, "POST", f"{base}/v1/contacts", {"name": f"Person {i}"}))
    assert [r.status_code for r in created] == [201] * 8
    ids = [r.json()["id"] for r in created]

    def interact(client: httpx.Client, i: int) -> list[httpx.Response]:
        """Five interactions on one of four contacts, each retried after a conflict."""
        answers = []
        for n in range(5):
            while True:
                r = _send(
                    client, "POST", f"{base}/v1/contacts/{ids[(i + n) % 4]}/interactions", {"type": "page_visited"}
                )
                answers.append(r)
                if r.status_code != 409:
                    break
        return answers

    rounds = _at_once(10, lambda c, i: interact(c, i))
    answers = [r for round_ in rounds for r in round_]
    accepted = [r for r in answers if r.status_code == 201]
    conflicts = [r for r in answers if r.status_code == 409]
    assert len(accepted) == 10 * 5, Counter(r.status_code for r in answers)
    for refused in conflicts:
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "concurrency_conflict"

    # A stale If-Match raced by both processes: exactly one wins, the rest are told 409.
    target = ids[6]
    stale = _at_once(
        8,
        lambda c, i: _send(c, "PATCH", f"{base}/v1/contacts/{target}", {"owner": f"owner-{i}"}, **{"If-Match": '"1"'}),
    )
    assert sorted(r.status_code for r in stale) == [200] + [409] * 7, [r.text for r in stale]
    for refused in (r for r in stale if r.status_code == 409):
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "concurrency_conflict"

    # Nothing lost, nothing twice: every accepted command is one stored event, versions unbroken.
    # (The automations add events of their own: a score crossing the threshold qualifies
    # the contact and assigns a follow-up.)
    stored = _stored(postgres_dsn)
    assert sorted(stored) == sorted(ids)
    for contact, events in stored.items():
        assert [version for version, _ in events] == list(range(1, len(events) + 1)), contact
    per_contact = Counter(r.json()["id"] for r in accepted)
    for contact in ids:
        kinds = Counter(topic for _, topic in stored[contact])
        assert kinds["crm.contact.created.v1"] == 1
        assert kinds["crm.contact.interaction_recorded.v1"] == per_contact[contact], contact
        assert kinds["crm.contact.details_changed.v1"] == (1 if contact == target else 0)
    positions = [r.json()["position"] for r in [*created, *accepted]] + [
        r.json()["position"] for r in stale if r.status_code == 200
    ]
    assert len(set(positions)) == len(positions)

    # Both worker processes served commands; the parent served none.
    served = _served_by(server)
    assert set(served) == workers, served
    assert all(count > 0 for count in served.values()), served

    # The background workers ran once: one relay took the lease, each projector is one
    # consumer in its group, and the read model holds every version exactly as stored.
    assert server.log_count("relay active") == 1, server.log()
    for name in ("oltp", "olap"):
        group = projector_group(topic_prefix, name)
        members = wait_until(
            f"the {name} projector in its group", lambda g=group: group_state(kafka_bootstrap, g)[1], 90
        )
        assert len(members) == 1, members
    wait_until(
        "the read model caught up",
        lambda: oltp_versions(postgres_dsn) == {c: len(v) for c, v in _stored(postgres_dsn).items()},
        120,
    )

    assert server.terminate(limit=20) < 20


def test_embedded_stores_refuse_more_than_one_worker(tmp_path: Path) -> None:
    env = crm_env(
        data_dir=tmp_path / "data",
        event_store="",
        oltp_dsn="",
        kafka_bootstrap="",
        topic_prefix="unused",
        olap_path=tmp_path / "analytics.duckdb",
    )
    for name in ("CRM_EVENT_STORE", "CRM_OLTP_DSN", "CRM_KAFKA_BOOTSTRAP"):
        env.pop(name)
    done = subprocess.run(
        [CRM, "serve", "--workers", "2", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--workers 2 needs PostgreSQL" in done.stderr
    assert "CRM_EVENT_STORE" in done.stderr and "--workers 1" in done.stderr
    assert not (tmp_path / "data" / "events.sqlite").exists()  # refused before anything was made


def test_help_explains_workers() -> None:
    answer = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert answer.exit_code == 0
    assert "--workers" in answer.output
    assert "background workers run once" in " ".join(answer.output.split())
