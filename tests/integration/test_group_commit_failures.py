"""Group commit always answers: a command the database refuses is isolated from the good
ones of its group, an outage is answered to every member at once, and nobody waits
without a deadline or leaves a thread spinning."""

from __future__ import annotations

import threading
import time

import pytest
from eventsourcing.persistence import OperationalError

import commands.bus
from commands.contact import CreateContact
from commands.group_commit import CommitTimeout
from domain.meta import Meta

META = Meta("t", "group", "group")


def _run_grouped(container, commands_to_run, monkeypatch):
    """Runs the commands at once, all queued behind one slow transaction, so that they are
    committed as one group; answers each command's result or error, and how long each took."""
    bus = container.commands
    store_save, calls = container.store.save, []

    def slow_first_save(*objects, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.5)
        return store_save(*objects, **kwargs)

    monkeypatch.setattr(container.store, "save", slow_first_save)
    outcomes: dict[int, object] = {}
    took: dict[int, float] = {}

    def run(i: int, command: object) -> None:
        started = time.monotonic()
        try:
            outcomes[i] = bus.execute(command, META)
        except Exception as exc:
            outcomes[i] = exc
        took[i] = time.monotonic() - started

    warm_up = threading.Thread(target=bus.execute, args=(CreateContact(name="First"), META), daemon=True)
    warm_up.start()
    while not calls:
        time.sleep(0.001)
    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(commands_to_run)]
    for t in threads:
        t.start()
    for t in [warm_up, *threads]:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a command is still waiting"
    return outcomes, took


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_unencodable_command_among_good_ones_fails_alone(backend, embedded, production, monkeypatch):
    container = embedded if backend == "sqlite" else production
    # As if the door let it through (an event recorded by an older version, say): the
    # database itself must refuse it, and only it.
    monkeypatch.setattr(commands.bus, "check_storable", lambda *_: None)
    good = [CreateContact(name=f"Good {i}", tags=("ok",)) for i in range(15)]
    bad = CreateContact(name="Bad", tags=("lone \ud800 surrogate",))
    outcomes, took = _run_grouped(container, [*good[:7], bad, *good[7:]], monkeypatch)

    errors = {i: o for i, o in outcomes.items() if isinstance(o, Exception)}
    assert list(errors) == [7], errors
    assert all(container.store.repository.get(outcomes[i].id).name.startswith("Good") for i in outcomes if i != 7)
    assert max(took.values()) < 10
    assert container.commands.committer.transactions >= 3  # the group failed, then was halved
    _assert_idle(container.commands.committer)


def test_an_outage_is_answered_to_every_member_at_once(production, monkeypatch):
    container = production
    bus = container.commands
    attempts = []

    def store_down(*objects, **kwargs):
        attempts.append(1)
        time.sleep(0.2)
        raise OperationalError("connection refused")

    outcomes: dict[int, object] = {}
    monkeypatch.setattr(container.store, "save", store_down)

    def run(i: int) -> None:
        try:
            outcomes[i] = bus.execute(CreateContact(name=f"P{i}"), META)
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(outcomes) == 16 and all(isinstance(o, OperationalError) for o in outcomes.values())
    # Not one transaction per command: a group's outage is not split into halves.
    assert len(attempts) < 16
    _assert_idle(bus.committer)


def test_a_command_queued_behind_a_stuck_commit_gets_an_answer_within_the_deadline(production, monkeypatch):
    committer = production.commands.committer
    monkeypatch.setattr(committer, "_deadline", 1.0)
    release = threading.Event()
    store_save = production.store.save

    def stuck_save(*objects, **kwargs):
        release.wait(10)
        return store_save(*objects, **kwargs)

    monkeypatch.setattr(production.store, "save", stuck_save)
    first = threading.Thread(target=production.commands.execute, args=(CreateContact(name="Stuck"), META))
    first.start()
    time.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(CommitTimeout, match="did not take"):
        production.commands.execute(CreateContact(name="Queued"), META)
    assert time.monotonic() - started < 3
    release.set()
    first.join(10)
    assert not first.is_alive()
    _assert_idle(committer)


def _assert_idle(committer) -> None:
    """No request left queued, no committer busy, and no thread burning CPU."""
    assert committer._pending == [] and committer._committing is False
    before = time.process_time()
    time.sleep(1.0)
    assert time.process_time() - before < 0.5
