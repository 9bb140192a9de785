"""Racing commands on PostgreSQL: the optimistic concurrency check and idempotency keys
hold when two threads really do write at the same moment."""

from __future__ import annotations

import threading

import pytest

from commands.bus import UnitOfWork
from commands.contact import CreateContact
from commands.deal import CreateDeal, MoveDeal
from commands.errors import ConcurrencyConflict
from commands.pipeline import CreatePipeline
from domain.deal import Deal
from domain.meta import Meta
from domain.pipeline import Stage

META = Meta("t", "race", "race")


def race(monkeypatch, *commands) -> list[object]:
    """Runs the commands in threads that have all loaded their aggregates before any saves."""
    barrier = threading.Barrier(len(commands))
    load = UnitOfWork.load

    def load_then_wait(self, cls, aggregate_id, expected_version=None):
        aggregate = load(self, cls, aggregate_id, expected_version)
        if cls is Deal:
            barrier.wait(timeout=10)
        return aggregate

    monkeypatch.setattr(UnitOfWork, "load", load_then_wait)
    outcomes: list[object] = [None] * len(commands)

    def run(i: int, execute) -> None:
        try:
            outcomes[i] = execute()
        except ConcurrencyConflict as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(commands)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    monkeypatch.undo()
    return outcomes


@pytest.fixture
def deal(production):
    stages = (Stage("qualify", "Qualify", 0.1), Stage("demo", "Demo", 0.3), Stage("proposal", "Proposal", 0.6))
    pipeline = production.commands.execute(CreatePipeline("Sales", stages), META).id
    contact = production.commands.execute(CreateContact(name="Ada"), META).id
    return production.commands.execute(CreateDeal(pipeline, "Pilot", contact_id=contact), META).id


def test_two_moves_of_one_deal_at_once_one_wins_the_other_gets_a_conflict(production, deal, monkeypatch):
    bus = production.commands
    outcomes = race(
        monkeypatch,
        lambda: bus.execute(MoveDeal(deal, "demo"), META),
        lambda: bus.execute(MoveDeal(deal, "proposal"), META),
    )
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    [win] = [o for o in outcomes if not isinstance(o, ConcurrencyConflict)]
    assert len(conflicts) == 1 and conflicts[0].code == "concurrency_conflict"
    stored = production.store.repository.get(deal)
    assert (stored.version, stored.stage) == (2, win.extra["stage"])
    # Nothing lost: the loser, retried, now applies on top of the winner.
    loser_stage = "proposal" if win.extra["stage"] == "demo" else "demo"
    again = bus.execute(MoveDeal(deal, loser_stage), META)
    assert (again.version, production.store.repository.get(deal).stage) == (3, loser_stage)


def test_the_same_command_sent_twice_at_once_is_recorded_once(production, deal, monkeypatch):
    bus = production.commands
    before = production.store.recorder.max_notification_id()
    outcomes = race(
        monkeypatch,
        lambda: bus.execute(MoveDeal(deal, "demo"), META, idempotency_key="move-42"),
        lambda: bus.execute(MoveDeal(deal, "demo"), META, idempotency_key="move-42"),
    )
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    first, second = outcomes
    assert (first.version, first.position) == (second.version, second.position) == (2, before + 1)
    assert sorted([first.repeated, second.repeated]) == [False, True]
    assert production.store.recorder.max_notification_id() == before + 1


def test_two_creates_with_one_idempotency_key_at_once_create_one_contact(production, monkeypatch):
    """Different new ids, so only the key can collide: the loser's events roll back with it."""
    barrier = threading.Barrier(2)
    save = UnitOfWork.save

    def wait_then_save(self, *aggregates, **extra):
        barrier.wait(timeout=10)
        return save(self, *aggregates, **extra)

    monkeypatch.setattr(UnitOfWork, "save", wait_then_save)
    before = production.store.recorder.max_notification_id() or 0
    outcomes: list[object] = [None, None]

    def run(i: int) -> None:
        outcomes[i] = production.commands.execute(CreateContact(name="Ada"), META, idempotency_key="create-ada")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    monkeypatch.undo()
    first, second = outcomes
    assert first.id == second.id
    assert production.store.recorder.max_notification_id() == before + 1
    created = production.store.recorder.select_notifications(start=before + 1, limit=10)
    assert [n.originator_id for n in created] == [first.id]
