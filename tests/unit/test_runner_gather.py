"""A projector that gathers waits a moment for more records once a batch has begun: a
trickle of events is written in a few transactions, not one per event, and nothing is
held back once the batch is full or the moment has passed."""

from __future__ import annotations

import threading
import time

from projections.runner import ProjectorRunner
from streams.records import Record


class Trickle:
    """A source that has one more record each ``every`` seconds."""

    def __init__(self, count: int, every: float) -> None:
        self.count = count
        self.every = every
        self.started = time.monotonic()
        self.given = 0

    def start(self, positions):
        pass

    def poll(self, max_records, timeout):
        deadline = time.monotonic() + timeout
        while True:
            ready = min(self.count, int((time.monotonic() - self.started) / self.every) + 1)
            if ready > self.given or time.monotonic() >= deadline:
                break
            time.sleep(min(self.every / 4, max(deadline - time.monotonic(), 0)))
        batch = [Record("t", 0, i, b"k", b"v") for i in range(self.given, min(ready, self.given + max_records))]
        self.given += len(batch)
        return batch

    def caught_up(self):
        return self.given == self.count

    def committed(self, positions):
        pass

    def close(self):
        pass


class CountingWriter:
    name = "test"

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def positions(self):
        return {}

    def write(self, records, reject, skip=()):
        self.batches.append([r.offset for r in records])


def run(runner: ProjectorRunner, source: Trickle) -> None:
    """The runner's own loop (``run``), stopped once the source ran dry."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop, 0.2))
    thread.start()
    try:
        for _ in range(1000):  # bounded: the trickle ends within seconds
            if source.caught_up():
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the source never ran dry")
    finally:
        stop.set()
        thread.join(10)


def test_without_gathering_a_trickle_is_written_as_it_comes():
    source, writer = Trickle(count=20, every=0.05), CountingWriter()
    run(ProjectorRunner(writer, source, batch_size=1000), source)
    assert sum(writer.batches, []) == list(range(20))
    assert len(writer.batches) >= 4


def test_gathering_writes_the_same_trickle_in_one_batch_in_order():
    # the trickle lasts about a second; the gathering, two from the first record
    source, writer = Trickle(count=20, every=0.05), CountingWriter()
    run(ProjectorRunner(writer, source, batch_size=1000, gather=2.0), source)
    assert writer.batches == [list(range(20))]


def test_a_full_batch_is_written_without_waiting_out_the_gathering():
    source, writer = Trickle(count=10, every=0.001), CountingWriter()
    runner = ProjectorRunner(writer, source, batch_size=5, gather=30.0)
    started = time.monotonic()
    time.sleep(0.05)  # every record is ready
    runner.run_once(timeout=0.2, gather=runner.gather)
    runner.run_once(timeout=0.2, gather=runner.gather)
    assert writer.batches == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert time.monotonic() - started < 30  # not the gathering's 30 s: the batches were full


def test_catching_up_waits_for_nothing():
    source, writer = Trickle(count=3, every=0.001), CountingWriter()
    time.sleep(0.05)  # every record is ready, and no more will come
    started = time.monotonic()
    ProjectorRunner(writer, source, batch_size=1000, gather=30.0).run_until_idle(timeout=0.1)
    assert writer.batches == [[0, 1, 2]]
    assert time.monotonic() - started < 30  # not the gathering's 30 s
