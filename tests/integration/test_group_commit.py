"""Concurrent commands share transactions, and the concurrency check still holds for each."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from commands.bus import UnitOfWork
from commands.contact import CreateContact, RecordInteraction
from commands.errors import ConcurrencyConflict
from domain.meta import Meta

META = Meta("t", "group", "group")


def test_concurrent_commands_commit_in_groups_and_only_the_conflicting_one_fails(production, monkeypatch):
    bus = production.commands
    contacts = [bus.execute(CreateContact(name=f"P{i}"), META).id for i in range(12)]
    # Twelve contacts, one of them twice: thirteen commands, all loaded before any saves.
    targets = [*contacts, contacts[0]]
    barrier = threading.Barrier(len(targets) + 2)  # every command has loaded before any saves
    save = UnitOfWork.save

    def wait_then_save(self, *aggregates, **extra):
        if aggregates[0].name != "First":
            barrier.wait(timeout=20)
        return save(self, *aggregates, **extra)

    monkeypatch.setattr(UnitOfWork, "save", wait_then_save)
    # An unrelated first command has a slow transaction, so that all the others arrive while
    # it runs and are committed together after it.
    store_save, calls = production.store.save, []

    def slow_first_save(*objects, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)
        return store_save(*objects, **kwargs)

    monkeypatch.setattr(production.store, "save", slow_first_save)
    before = bus.committer.transactions
    outcomes: dict[str, object] = {}

    def run(name: str, command: object, key: str | None = None) -> None:
        try:
            outcomes[name] = bus.execute(command, META, idempotency_key=key)
        except ConcurrencyConflict as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=run, args=(f"visit{i}", RecordInteraction(c, "page_visited", datetime.now(UTC))))
        for i, c in enumerate(targets)
    ] + [threading.Thread(target=run, args=(f"create{i}", CreateContact(name="Zed"), "zed")) for i in range(2)]
    warm_up = threading.Thread(target=bus.execute, args=(CreateContact(name="First"), META))
    warm_up.start()
    while not calls:
        time.sleep(0.001)
    for t in threads:
        t.start()
    for t in [warm_up, *threads]:
        t.join(30)
    monkeypatch.undo()

    conflicts = [n for n, o in outcomes.items() if isinstance(o, ConcurrencyConflict)]
    assert len(conflicts) == 1 and conflicts[0] in ("visit0", "visit12")
    for contact in contacts:
        assert production.store.repository.get(contact).lead_score == 20
    assert outcomes["create0"].id == outcomes["create1"].id
    # The slow one; a group of the rest but for the certain conflicts (the same contact
    # twice, the same key twice); then of those two, the visit that lost its race to a
    # version just recorded is answered without a transaction, the second "zed" is tried
    # alone: three transactions for sixteen commands, not one per command.
    assert bus.committer.transactions - before == 3
