"""Freshness of the warehouse's snapshots under a steady load, for bench/analytics.py (which
runs it; `make bench` runs only the `bench/[a-z]*.py` files, so not this one alone).

bench/freshness.py measures the same through the production path (its own writer, `crm
project olap`; this module's reader, ``start`` and ``read_lags``).

Three processes, as in production:

- this one records commands through the real command layer of an embedded container
  (`Container(Settings(data_dir=…))`, `commands.execute(CreateContact / RecordInteraction)`),
  one event each, at a steady rate, noting each answer's position and the time it came;
- a writer (`python -m bench._freshness writer …`): the `olap` projector's run loop and the
  warehouse publisher's (`container.olap_publisher().run(stop)`), as `crm project olap`
  runs them, logging each batch it commits and each snapshot it publishes (with
  `Publisher.last_duration`);
- a reader (`python -m bench._freshness reader …`): reads the newest snapshot in a loop
  the way the API does (`projections.olap.snapshots.Snapshots`: the `current.duckdb` link
  resolved on every read, a new read-only connection when it points elsewhere), every
  10 ms, and logs each new snapshot it sees with the position through which it holds every
  event (`channel_heads`) and the time.

An event's freshness is the time from its command's answer to the reader's first answer
that includes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Freshness:
    label: str
    #: The warehouse file (bytes) when the load began.
    warehouse_bytes: int
    #: The publisher's interval setting (``CRM_OLAP_PUBLISH_EVERY``).
    every: float
    events: int = 0
    rate: float = 0.0
    #: Seconds from an answer to the reader's first answer including it, sorted.
    lags: list[float] = field(default_factory=list)
    #: Seconds from an answer to the writer's commit of it, sorted.
    projected: list[float] = field(default_factory=list)
    #: ``Publisher.last_duration`` of each publication during the load.
    publishes: list[float] = field(default_factory=list)
    #: Seconds between publications during the load.
    intervals: list[float] = field(default_factory=list)
    #: Seconds from a publication to the reader's first answer from it.
    seen_after: list[float] = field(default_factory=list)
    #: The most bytes the snapshot folder held.
    peak_folder_bytes: int = 0
    first_publish: float = 0.0

    def pct(self, values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


_EMITTING = threading.Lock()


def _emit(**fields: Any) -> None:
    """One JSON line, whole (the writer's two threads both report)."""
    with _EMITTING:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class _Lines:
    """A child process's JSON lines, collected by a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self.garbled = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    self.garbled += 1

    def wait_for(self, what: str, found: Any, timeout: float) -> dict[str, Any]:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            for line in list(self.lines):
                if found(line):
                    return line
            if self.process.poll() is not None:
                raise RuntimeError(f"the {what} process ended ({self.process.returncode}) before {what}")
            time.sleep(0.02)
        raise TimeoutError(f"no {what} within {timeout:.0f}s")

    def close(self) -> None:
        self._thread.join(10)


def start(processes: list[subprocess.Popen[str]], *args: str, env: dict[str, str] | None = None) -> _Lines:
    """``python -m bench._freshness ARGS…`` (the writer or the reader), its lines collected;
    the process is added to ``processes`` for the caller to stop."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._freshness", *args],
        cwd=ROOT,
        env=env if env is not None else _env(),
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    processes.append(process)
    return _Lines(process)


def first_read(reading: _Lines) -> tuple[list[tuple[int, float]], dict[int, float]]:
    """When the reader first saw each position: every position up to ``through`` (the lowest
    channel head) at the snapshot's time, and the positions listed ``above`` it."""
    seen = [(m["through"], m["at"]) for m in reading.lines if "through" in m]
    above: dict[int, float] = {}
    for m in reading.lines:
        for position in m.get("above", ()):
            above.setdefault(position, m["at"])
    return seen, above


def read_at(seen: list[tuple[int, float]], above: dict[int, float], position: int) -> float | None:
    i = bisect_left([s[0] for s in seen], position)
    times = [t for t in (seen[i][1] if i < len(seen) else None, above.get(position)) if t is not None]
    return min(times) if times else None


def unread(reading: _Lines, positions: list[int]) -> int:
    """How many of ``positions`` the reader has not seen yet."""
    seen, above = first_read(reading)
    return sum(1 for p in positions if read_at(seen, above, p) is None)


def read_lags(reading: _Lines, answers: list[tuple[int, float]]) -> list[float]:
    """Seconds from each answer ``(position, time.time())`` to the reader's first answer
    holding its position, sorted. Every position must have been read."""
    seen, above = first_read(reading)
    lags = []
    for position, answered in answers:
        at = read_at(seen, above, position)
        assert at is not None, f"position {position} was never read"
        lags.append(max(0.0, at - answered))
    return sorted(lags)


def measure(
    data_dir: Path,
    seconds: float,
    rate: float = 200.0,
    olap_path: Path | None = None,
    every: float = 1.0,
    label: str = "",
) -> Freshness:
    """Records ``rate`` events/s for ``seconds`` into an embedded CRM in ``data_dir`` whose
    warehouse (``olap_path``, by default in ``data_dir``) a writer process projects and
    publishes, and a reader process reads; answers what it measured."""
    from commands.contact import CreateContact, RecordInteraction
    from crm.settings import Settings
    from crm.wiring import Container
    from domain.meta import Meta
    from projections.olap.snapshots import folder_for

    settings = Settings(data_dir=data_dir, olap_path=olap_path, olap_publish_every=every)
    warehouse = settings.olap_file
    folder = folder_for(warehouse)
    result = Freshness(label, warehouse.stat().st_size if warehouse.exists() else 0, every)
    meta = Meta("bench", "bench-freshness", "bench-freshness")
    container = Container(settings)
    processes: list[subprocess.Popen[str]] = []

    peak = [0]
    watching = threading.Event()

    def watch_folder() -> None:
        while not watching.is_set():
            total = 0
            for path in folder.glob("*") if folder.exists() else []:
                try:
                    total += path.lstat().st_size
                except FileNotFoundError:
                    pass
            peak[0] = max(peak[0], total)
            watching.wait(0.25)

    watcher = threading.Thread(target=watch_folder, daemon=True)
    try:
        first = container.commands.execute(CreateContact(name="Freshness first"), meta)
        assert first.position is not None
        started = time.monotonic()
        writing = start(processes, "writer", str(data_dir), str(olap_path or ""), str(every))
        writing.wait_for("a first projected batch", lambda m: m.get("projected", 0) >= first.position, 600)
        published = writing.wait_for(
            "a snapshot holding it", lambda m: "published" in m and m["through"] >= first.position, 600
        )
        result.first_publish = time.monotonic() - started
        watcher.start()
        reading = start(processes, "reader", str(warehouse), str(seconds + 180))
        reading.wait_for("a first read", lambda m: m.get("snapshot", 0) >= published["published"], 120)

        answers: list[tuple[int, float]] = []
        contact = first.id
        total = int(seconds * rate)
        began = time.monotonic()
        for k in range(total):
            wait = began + k / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if k % 2 == 0:
                done = container.commands.execute(CreateContact(name=f"Freshness {k}"), meta)
                contact = done.id
            else:
                done = container.commands.execute(RecordInteraction(contact, "page_visited", datetime.now(UTC)), meta)
            assert done.position is not None
            answers.append((done.position, time.time()))
        result.events = total
        result.rate = total / (time.monotonic() - began)
        last = answers[-1][0]
        reading.wait_for("the last event read", lambda m: m.get("through", 0) >= last, 120)
    finally:
        watching.set()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()
        container.close()
    writing.close()
    reading.close()
    result.peak_folder_bytes = peak[0]

    seen = [(m["through"], m["at"], m["snapshot"]) for m in reading.lines if "through" in m]
    commits = [(m["projected"], m["at"]) for m in writing.lines if "projected" in m]
    committed = [c[0] for c in commits]
    projected = []
    for position, answered in answers:
        j = bisect_left(committed, position)
        projected.append(max(0.0, commits[j][1] - answered))
    result.lags, result.projected = read_lags(reading, answers), sorted(projected)
    window = (answers[0][1], answers[-1][1] + 1e9)
    publications = [m for m in writing.lines if "published" in m and window[0] <= m["at"] <= window[1]]
    result.publishes = sorted(m["seconds"] for m in publications)
    times = [m["at"] for m in publications]
    result.intervals = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    first_seen: dict[int, float] = {}
    for _, at, number in seen:
        first_seen.setdefault(number, at)
    result.seen_after = sorted(
        max(0.0, first_seen[m["published"]] - m["at"]) for m in publications if m["published"] in first_seen
    )
    return result


# -- the two other processes -----------------------------------------------------------------


def writer(data_dir: str, olap_path: str, every: float) -> None:
    """The olap projector and the warehouse publisher, each in its run loop, until SIGTERM."""
    from crm.settings import Settings
    from crm.wiring import Container

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings(
        data_dir=Path(data_dir), olap_path=Path(olap_path) if olap_path else None, olap_publish_every=every
    )
    with Container(settings) as container:
        runner = container.projector("olap")
        write = runner.writer.write
        head = [0]

        def logged_write(records: Any, reject: Any, skip: Any = ()) -> None:
            write(records, reject, skip)
            head[0] = max(head[0], *(r.offset for r in records))
            _emit(projected=head[0], at=time.time(), records=len(records))

        runner.writer.write = logged_write  # type: ignore[method-assign]
        publisher = container.olap_publisher()
        publish = publisher.publish

        def logged_publish() -> Path | None:
            through = head[0]
            found = publish()
            if found is not None:
                _emit(
                    published=publisher.number, at=time.time(), seconds=publisher.last_duration,
                    bytes=found.stat().st_size, through=through,
                )  # fmt: skip
            return found

        publisher.publish = logged_publish  # type: ignore[method-assign]
        threads = [
            threading.Thread(target=runner.run, args=(stop,), name="projector"),
            threading.Thread(target=publisher.run, args=(stop,), name="publisher"),
        ]
        for thread in threads:
            thread.start()
        while not stop.is_set():
            stop.wait(0.2)
        for thread in threads:
            thread.join()


def reader(warehouse: str, seconds: float) -> None:
    """The newest snapshot, read every 10 ms; one line per snapshot first seen."""
    from projections.olap.snapshots import Snapshots

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    snapshots = Snapshots(Path(warehouse))
    last = None
    listed: set[int] = set()
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        try:
            with snapshots.read() as cursor:
                row = cursor.execute(
                    "SELECT (SELECT max(number) FROM warehouse_snapshot), "
                    "(SELECT COALESCE(min(position), 0) FROM channel_heads)"
                ).fetchone()
                assert row is not None
                number, through = row
                above = []
                if number != last:
                    # With several channels (Kafka's partitions) the lowest head says nothing
                    # of the events above it that the other channels already brought.
                    found = cursor.execute("SELECT position FROM events WHERE position > ?", (through,)).fetchall()
                    above = sorted(p for (p,) in found if p not in listed)
                    listed.update(above)
        except Exception as error:
            _emit(error=repr(error), at=time.time())
            stop.wait(0.1)
            continue
        if number != last:
            _emit(snapshot=number, through=through, at=time.time(), above=above)
            last = number
        stop.wait(0.01)
    snapshots.close()


if __name__ == "__main__":
    role, *arguments = sys.argv[1:]
    if role == "writer":
        writer(arguments[0], arguments[1], float(arguments[2]))
    elif role == "reader":
        reader(arguments[0], float(arguments[1]))
    else:
        raise SystemExit(f"unknown role {role!r}: writer or reader")
