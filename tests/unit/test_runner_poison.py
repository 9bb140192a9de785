"""A record whose rows the store refuses is found by halving its batch and dead-lettered;
the rest of the batch is written and the positions move past it. An outage is never
blamed on a record: it propagates, and nothing is dead-lettered."""

from __future__ import annotations

import pytest

from projections.runner import ProjectorRunner
from streams.records import Record


class StoreRefuses(Exception):
    """Stands for a data error of the store (PostgreSQL's DataError, DuckDB's ConversionException)."""


class ListSource:
    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.committed_positions: list[dict] = []

    def start(self, positions):
        pass

    def poll(self, max_records, timeout):
        batch, self.records = self.records[:max_records], self.records[max_records:]
        return batch

    def caught_up(self):
        return not self.records

    def committed(self, positions):
        self.committed_positions.append(dict(positions))

    def close(self):
        pass


class TransactionalWriter:
    """Writes all of a batch or nothing, like the real writers; the store refuses any
    batch holding a value containing ``b"poison"``."""

    name = "test"

    def __init__(self, refuse_with: type[Exception] = StoreRefuses) -> None:
        self.rows: list[bytes] = []
        self.position: dict = {}
        self.transactions = 0
        self.refuse_with = refuse_with

    def positions(self):
        return self.position

    def write(self, records, reject, skip=()):
        self.transactions += 1
        applied = [r.value for r in records if r not in skip]
        if any(b"poison" in value for value in applied):
            raise self.refuse_with("the store refused a value")
        self.rows += applied
        for r in records:
            self.position[r.channel] = max(self.position.get(r.channel, -1), r.offset)


class Letters:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def send(self, projection, record, error, extra=None):
        self.sent.append((record.offset, str(error)))


def records(values: list[bytes]) -> list[Record]:
    return [Record("t", 0, i, b"k", v) for i, v in enumerate(values)]


def test_the_one_record_the_store_refuses_is_dead_lettered_and_the_rest_written():
    values = [f"ok {i}".encode() for i in range(100)]
    values[37] = b"poison"
    writer, letters = TransactionalWriter(), Letters()
    runner = ProjectorRunner(writer, ListSource(records(values)), batch_size=100, dead_letters=letters)

    assert runner.run_once() == 100
    assert letters.sent == [(37, "the store refused a value")]
    assert writer.rows == [v for v in values if v != b"poison"]
    assert writer.position == {("t", 0): 99}
    assert runner.rejected == 1
    # Halving finds it in a handful of transactions, not one per record.
    assert writer.transactions < 20


def test_a_poison_last_in_its_batch_still_moves_the_position_past_it():
    writer, letters = TransactionalWriter(), Letters()
    runner = ProjectorRunner(writer, ListSource(records([b"ok", b"poison"])), dead_letters=letters)
    runner.run_once()
    assert writer.position == {("t", 0): 1} and letters.sent[0][0] == 1


def test_several_poisons_in_one_batch_are_each_dead_lettered_once():
    values = [b"poison" if i in (0, 5, 6, 63) else b"ok" for i in range(64)]
    writer, letters = TransactionalWriter(), Letters()
    ProjectorRunner(writer, ListSource(records(values)), batch_size=64, dead_letters=letters).run_once()
    assert sorted(offset for offset, _ in letters.sent) == [0, 5, 6, 63]
    assert len(writer.rows) == 60


def test_an_outage_propagates_and_dead_letters_nothing():
    writer, letters = TransactionalWriter(refuse_with=ConnectionError), Letters()
    source = ListSource(records([b"ok", b"poison", b"ok"]))
    runner = ProjectorRunner(writer, source, dead_letters=letters)
    with pytest.raises(ConnectionError):
        runner.run_once()
    assert letters.sent == [] and writer.rows == [] and source.committed_positions == []


def test_when_even_the_positions_alone_cannot_be_written_nothing_is_blamed_on_a_record():
    class PositionsFail(TransactionalWriter):
        def write(self, records, reject, skip=()):
            raise StoreRefuses("the positions table is broken")

    letters = Letters()
    runner = ProjectorRunner(PositionsFail(), ListSource(records([b"ok"])), dead_letters=letters)
    with pytest.raises(StoreRefuses):
        runner.run_once()
    # The one record was suspected and set aside, but the write without it failed too:
    # the error is raised, so the batch is tried again rather than moved past.
    assert len(letters.sent) == 1
