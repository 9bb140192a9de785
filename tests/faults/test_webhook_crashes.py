"""The webhook dispatcher killed at random moments, and several sharing the work.

`crm deliver` runs as a process of its own over a PostgreSQL event store (a fresh database
on the shared server), posting to a receiver in this test that answers after a short,
random pause, so that every kill lands with requests in flight and answers unrecorded.
Afterwards every event was delivered at least once and, per subject, in order: a repeat
only ever comes before the next event of its subject, never after it.

The seed is printed; `CRM_CRASH_SEED=N` replays the kill schedule.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

from commands.contact import CreateContact, RecordInteraction
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from tests.faults.processes import Spawn, wait_until
from tests.receiver import Receiver

META = Meta("tests", "webhook-crashes", "webhook-crashes")
CONTACTS = 40
EVENTS_PER_CONTACT = 8
TOTAL = CONTACTS * EVENTS_PER_CONTACT
KILLS = 8


def _env(tmp_path: Path, dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(
        CRM_DATA_DIR=str(tmp_path / "data"),
        CRM_EVENT_STORE=dsn,
        CRM_OLTP_DSN=dsn,
        CRM_WEBHOOK_TIMEOUT="3",
        CRM_WEBHOOK_RETRY_DELAYS="[0.2, 0.2, 0.5, 1, 1, 1, 1, 1]",
        CRM_WEBHOOK_CONCURRENCY="4",
        PYTHONUNBUFFERED="1",
    )
    return env


def _history(container: Container) -> None:
    for i in range(CONTACTS):
        contact = container.commands.execute(CreateContact(name=f"P{i}", email=f"p{i}@example.com"), META).id
        for n in range(EVENTS_PER_CONTACT - 1):
            container.commands.execute(RecordInteraction(contact, "page_visited", details={"url": f"/{n}"}), META)


def _check(receiver: Receiver) -> Counter[tuple[str, int]]:
    """Every event arrived; per subject never out of order. Answers the copies of each."""
    delivered = receiver.delivered()
    copies = Counter(r.key for r in delivered)
    assert len(copies) == TOTAL, f"{TOTAL - len(copies)} events never arrived"
    last: dict[str, int] = {}
    for request in delivered:
        subject, sequence = request.key
        assert sequence >= last.get(subject, 0), f"{subject}: {sequence} arrived after {last[subject]}"
        last[subject] = sequence
    return copies


def _sending(process, receiver: Receiver) -> None:
    before = len(receiver.all())
    wait_until("requests arriving", lambda: len(receiver.all()) > before or not process.alive() or None, 60)


def test_killing_the_dispatcher_at_any_moment_loses_nothing_and_keeps_order(tmp_path, postgres_dsn, spawn: Spawn):
    seed = int(os.environ.get("CRM_CRASH_SEED", random.randrange(1 << 30)))
    print(f"CRM_CRASH_SEED={seed}")
    rng = random.Random(seed)
    env = _env(tmp_path, postgres_dsn)
    # Some answers are slow and some fail, so that kills find requests in flight and retries due.
    pauses = random.Random(seed + 1)

    def answer(event: dict, attempt: int) -> int:
        time.sleep(pauses.uniform(0, 0.05))
        return 500 if pauses.random() < 0.1 else 200

    receiver = Receiver(answer)
    with Container(Settings(data_dir=tmp_path / "data", event_store=postgres_dsn, oltp_dsn=postgres_dsn)) as container:
        _history(container)
        with receiver.running():
            subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "tests")
            killed_with_work_left = 0
            for kill in range(KILLS):
                process = spawn(f"deliver-{kill}", ["deliver"], env)
                # Killed once it is sending, after a random share of a moment more.
                _sending(process, receiver)
                time.sleep(rng.uniform(0, 0.4))
                assert process.alive(), process.log()
                process.kill()
                if container.deliveries.counts(subscription.id)["pending"]:
                    killed_with_work_left += 1
            survivor = spawn("deliver-last", ["deliver"], env)
            wait_until(
                "every event delivered",
                lambda: container.deliveries.counts(subscription.id)["pending"] == 0 or None,
                120,
            )
            survivor.terminate(15)
        copies = _check(receiver)
        assert container.deliveries.counts(subscription.id) == {"pending": 0, "delivered": TOTAL, "dead": 0}
    assert killed_with_work_left >= KILLS // 2, "the kills should land while deliveries are pending"
    repeats = sum(copies.values()) - TOTAL
    print(f"{KILLS} kills ({killed_with_work_left} mid-work), {repeats} repeated deliveries")


def test_several_dispatchers_share_the_work_without_repeats_or_disorder(tmp_path, postgres_dsn, spawn: Spawn):
    env = _env(tmp_path, postgres_dsn)
    receiver = Receiver(lambda event, attempt: time.sleep(0.002) or 200)
    with Container(Settings(data_dir=tmp_path / "data", event_store=postgres_dsn, oltp_dsn=postgres_dsn)) as container:
        with receiver.running():
            subscription, _ = container.subscriptions.create(receiver.url, [], [], 0, "tests")
            dispatchers = [spawn(f"deliver-{n}", ["deliver"], env) for n in range(3)]
            _history(container)  # while they run: they follow the store as it grows
            wait_until(
                "every event delivered",
                lambda: container.deliveries.counts(subscription.id)["delivered"] == TOTAL or None,
                120,
            )
            for process in dispatchers:
                process.terminate(15)
            log = container.deliveries.log(subscription.id, None, 0, TOTAL)
        copies = _check(receiver)
    assert max(copies.values()) == 1, "without a crash, no event is sent twice"
    senders = Counter(attempt["dispatcher"] for entry in log for attempt in entry["attempts"])
    assert len(senders) >= 2, f"the work was not shared: {senders}"
