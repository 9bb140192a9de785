"""The warehouse read by many processes at once while its projector writes, and after the
projector is killed: the API of a `crm serve --api-only`, `crm sql`, and an analyst's own
DuckDB and SQLAlchemy connections made by the recipes of docs/ANALYTICS.md, as written.

Every reader checks, on each answer, invariants that hold only between whole batches
(an event's rows and the stored position are written in one transaction), and the test
measures how far behind the commands each answer is.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from commands.contact import CreateContact, RecordInteraction
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from tests.faults.processes import CRM, wait_until

DOC = Path(__file__).resolve().parents[2] / "docs" / "ANALYTICS.md"

#: It measures how fresh readers' answers are, which the other tests' processes on the same
#: two cores would measure instead: it runs after them (make test runs serial tests alone).
pytestmark = pytest.mark.serial

#: What docs/ANALYTICS.md promises: a committed batch is visible to new readers within this.
FRESHNESS_BOUND = 3.0
#: The same, allowing for a machine busy with seven processes on two cores.
FRESHNESS_LIMIT = 2 * FRESHNESS_BOUND

#: True between whole batches only: the events and the rows made from them, and the
#: position stored with them, are written in one transaction.
WHOLE_BATCHES = """
SELECT (SELECT count(*) FROM events) AS events,
       (SELECT COALESCE(max(position), 0) FROM events) AS position,
       (SELECT COALESCE(max(position), 0) FROM projection_positions WHERE projection = 'olap') AS stored,
       (SELECT count(*) FROM events WHERE type = 'crm.contact.created.v1') AS created,
       (SELECT count(DISTINCT contact_id) FROM dim_contact) AS contacts,
       (SELECT count(*) FROM events WHERE type = 'crm.contact.interaction_recorded.v1') AS recorded,
       (SELECT count(*) FROM interactions) AS interactions
"""
COLUMNS = ["events", "position", "stored", "created", "contacts", "recorded", "interactions"]


def recipe(marker: str) -> str:
    """The Python block of docs/ANALYTICS.md holding ``marker``, as written."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    (found,) = [b for b in blocks if marker in b]
    return found


def whole(row: dict[str, Any]) -> bool:
    return (
        row["position"] == row["stored"]
        and row["created"] == row["contacts"]
        and row["recorded"] == row["interactions"]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Observations:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: (reader, wall-clock time the answer was had, what it said or the error)
        self.seen: list[tuple[str, float, dict[str, Any] | str]] = []

    def add(self, reader: str, at: float, answer: dict[str, Any] | str) -> None:
        with self.lock:
            self.seen.append((reader, at, answer))


def test_many_processes_read_the_warehouse_while_it_is_projected_and_after_its_writer_is_killed(tmp_path):
    data = tmp_path / ".eventcrm"  # where the recipes look by default, from tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_DATA_DIR=str(data), CRM_OLAP_PUBLISH_EVERY="0.5", PYTHONUNBUFFERED="1")
    logs = tmp_path / "logs"
    logs.mkdir()
    container = Container(Settings(data_dir=data))
    meta = Meta("loader", "readers-test", "readers-test")
    recorded: list[tuple[int, float]] = []  # (position, wall-clock time it was committed)

    def record(command: Any) -> Any:
        result = container.commands.execute(command, meta)
        recorded.append((result.position, time.time()))
        return result.id

    record(CreateContact(name="First"))  # the store exists before anyone opens it
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args, env=env, cwd=tmp_path, stdout=(logs / f"{name}.log").open("ab"), stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    def log(name: str) -> str:
        return (logs / f"{name}.log").read_text(errors="replace")[-3000:]

    try:
        port = free_port()
        writer = start("writer", [CRM, "project", "olap"])
        start("api", [CRM, "serve", "--api-only", "--port", str(port)])
        observations = Observations()
        stop = threading.Event()
        duration = 20.0
        duck_reader: subprocess.Popen[str] | None = None

        def read_duckdb() -> None:
            assert duck_reader is not None and duck_reader.stdout is not None
            for line in duck_reader.stdout:
                if line.startswith("{"):
                    answer = json.loads(line)
                    observations.add("duckdb", answer["at"], answer.get("row") or answer["error"])

        def read_api() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                while not stop.is_set():
                    try:
                        answer = client.get("/v1/analytics/lead-scores")
                    except httpx.TransportError:
                        time.sleep(0.2)  # still starting
                        continue
                    at = time.time()
                    if answer.status_code == 200:
                        observations.add("api", at, answer.json()["computed_from"] | {"header": answer.headers})
                    else:
                        observations.add("api", at, f"{answer.status_code} {answer.text}")
                    time.sleep(0.05)

        def read_crm_sql() -> None:
            while not stop.is_set():
                done = subprocess.run(
                    [CRM, "sql", "--format", "json", WHOLE_BATCHES],
                    env=env,
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                )
                at = time.time()
                if done.returncode == 0:
                    (row,) = json.loads(done.stdout)
                    observations.add("crm sql", at, row | {"trace": done.stderr})
                else:
                    observations.add("crm sql", at, done.stderr)
                stop.wait(0.3)  # each run starts a Python: leave the two cores to the writer too

        def read_sqlalchemy() -> None:
            while not stop.is_set():
                done = subprocess.run(
                    [sys.executable, "-c", recipe("create_engine")], cwd=tmp_path, capture_output=True, text=True
                )
                observations.add("sqlalchemy", time.time(), {"ok": True} if done.returncode == 0 else done.stderr)
                stop.wait(1.5)

        readers = [
            threading.Thread(target=t, daemon=True) for t in (read_duckdb, read_api, read_crm_sql, read_sqlalchemy)
        ]
        # The recipes open the newest snapshot: wait for the first one.
        wait_until("a first snapshot", lambda: (data / "analytics.snapshots" / "current.duckdb").exists(), 60)
        duck_reader = subprocess.Popen(
            [sys.executable, "-c", recipe("def warehouse(") + LOOP, WHOLE_BATCHES, str(duration + 20)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=(logs / "duckdb.log").open("ab"),
            text=True,
        )
        processes.append(duck_reader)

        for thread in readers:
            thread.start()

        started = time.monotonic()
        killed_at = restarted_at = 0.0
        n = 0
        while time.monotonic() - started < duration or not restarted_at:
            n += 1
            contact = record(CreateContact(name=f"Reader test {n}"))
            record(RecordInteraction(contact, "page_visited", datetime.now(UTC)))
            if not killed_at and time.monotonic() - started > duration / 4:
                writer.kill()  # SIGKILL, most likely in the middle of a batch: the load never pauses
                writer.wait(10)
                killed_at = time.time()
            # Down for 2 s at least, and until the API and DuckDB readers have each answered
            # in the meantime (a loaded machine can take longer than that per answer).
            with observations.lock:
                answered = {r for r, t, _ in observations.seen if killed_at and t > killed_at}
            down_long_enough = {"duckdb", "api"} <= answered or time.time() - killed_at > 20.0
            if killed_at and not restarted_at and time.time() - killed_at > 2.0 and down_long_enough:
                writer = start("writer", [CRM, "project", "olap"])
                restarted_at = time.time()
            time.sleep(0.03)
        last_position = recorded[-1][0]
        wait_until(
            "the warehouse's snapshot to hold every event",
            lambda: any(
                isinstance(a, dict) and a.get("position") == last_position and t > recorded[-1][1]
                for r, t, a in list(observations.seen)
                if r == "duckdb"
            ),
            60,
        )
        stop.set()
        for thread in readers[1:]:
            thread.join(60)
        duck_reader.kill()
        readers[0].join(10)
    finally:
        stop.set()
        for process in processes:
            process.kill()
        container.close()

    seen = observations.seen
    failures = [(r, a) for r, _, a in seen if not isinstance(a, dict)]
    assert failures == [], f"{failures[:5]}\n{log('api')}\n{log('writer')}"
    by_reader = {r: [a for rr, _, a in seen if rr == r] for r in ("duckdb", "api", "crm sql", "sqlalchemy")}
    assert all(len(answers) >= 3 for answers in by_reader.values()), {r: len(a) for r, a in by_reader.items()}
    # None saw half of a batch.
    torn = [(r, a) for r, _, a in seen if r in ("duckdb", "crm sql") and not whole(a)]  # type: ignore[arg-type]
    assert torn == []
    # Readers carried on while the writer was down.
    down = [r for r, t, _ in seen if killed_at < t < restarted_at]
    assert {"duckdb", "api"} <= set(down), sorted(set(down))
    # Nothing was lost: every event recorded is in the warehouse, once.
    final = [a for r, t, a in seen if r == "duckdb" and a["position"] == last_position]  # type: ignore[index]
    assert final[-1]["events"] == len(recorded) and final[-1]["created"] == final[-1]["contacts"] == n + 1
    # Traceability: the API says which events each answer is computed from, in body and headers.
    for answer in by_reader["api"]:
        assert answer["position"] == answer["complete_through"] == int(answer["header"]["crm-position"])
    assert all("events through position" in a["trace"] for a in by_reader["crm sql"])
    # Freshness, outside the writer's outage: from its kill until readers see everything
    # recorded before it started again (what piled up meanwhile has waited since the kill).
    backlog = max(position for position, when in recorded if when <= restarted_at)
    recovered = min(t for r, t, a in seen if r == "api" and t > restarted_at and a["position"] >= backlog)
    steady = [(r, t, a) for r, t, a in seen if r in ("duckdb", "api") and not killed_at - 0.1 < t < recovered]
    lags = sorted(staleness(recorded, t, a["position"]) for r, t, a in steady)
    p50, p95, worst = lags[len(lags) // 2], lags[int(len(lags) * 0.95)], lags[-1]
    print(
        f"freshness over {len(lags)} answers: median {p50:.2f}s, p95 {p95:.2f}s, worst {worst:.2f}s; "
        f"caught up {recovered - restarted_at:.1f}s after the killed writer was started again"
    )
    assert p95 <= FRESHNESS_BOUND and worst <= FRESHNESS_LIMIT, (p50, p95, worst)


def staleness(recorded: list[tuple[int, float]], at: float, visible: int) -> float:
    """How long the oldest event committed but not yet visible at ``at`` had been waiting."""
    waiting = [when for position, when in recorded if position > visible and when < at]
    return at - min(waiting) if waiting else 0.0


#: Appended to the recipe: read in a loop, one JSON line per answer.
LOOP = """

import json
import sys
import time

_end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < _end:
    try:
        with warehouse() as _con:
            _cursor = _con.execute(sys.argv[1])
            _names = [d[0] for d in _cursor.description]
            _row = dict(zip(_names, _cursor.fetchone()))
        print(json.dumps({"at": time.time(), "row": _row}), flush=True)
    except Exception as _error:
        print(json.dumps({"at": time.time(), "error": repr(_error)}), flush=True)
    time.sleep(0.05)
"""
