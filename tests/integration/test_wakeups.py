"""How the relay learns of events saved by another process (streams/wakeups.py), on the real
servers: a save announced by PostgreSQL's NOTIFY wakes a relay that would otherwise not look
for an hour; a save that was never announced is still published at the relay's poll; and a
listener whose connection was cut listens again by itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from commands.contact import CreateContact, RecordInteraction
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from streams.relay import Relay
from streams.wakeups import Announcer, Listener, announcer_for, listener_for
from tests.faults.processes import wait_until

META = Meta("t", "wakeups", "wakeups")
#: Longer than any test here waits: a relay that publishes within the test was woken.
NEVER = 3600.0


@pytest.fixture
def api_and_relay(production_settings: dict) -> Iterator[tuple[Container, Container]]:
    """Two containers on one deployment: one saves (as `crm serve --api-only` does), the
    other relays (as `crm relay` does)."""
    api, relay = Container(Settings(**production_settings)), Container(Settings(**production_settings))
    yield api, relay
    for container in (relay, api):
        container.close()


@pytest.fixture
def running() -> Iterator[list[tuple[Relay, threading.Event, threading.Thread]]]:
    started: list[tuple[Relay, threading.Event, threading.Thread]] = []
    yield started
    for relay, stop, thread in started:
        stop.set()
        relay.wake()  # out of its wait, however long
        thread.join(10)
        relay.close()


def run_relay(relay: Relay, idle_wait: float, running: list) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_wait": idle_wait}, daemon=True)
    thread.start()
    running.append((relay, stop, thread))


def save_contact(container: Container) -> int:
    done = container.commands.execute(CreateContact(name="Woken"), META)
    done = container.commands.execute(RecordInteraction(done.id, "page_visited", datetime.now(UTC)), META)
    assert done.position is not None
    return done.position


def announcer_of(container: Container) -> Announcer:
    container.store  # noqa: B018 (made, with its announcer)
    announcers = [part for _, part in container._closables if isinstance(part, Announcer)]
    assert len(announcers) == 1
    return announcers[0]


def listening(relay: Relay) -> Listener:
    listener = relay._listener
    assert listener is not None
    wait_until("the relay listening", listener.listening.is_set, 30)
    return listener


def test_a_save_in_another_process_wakes_the_relay_through_its_notification(api_and_relay, running):
    api, relay_process = api_and_relay
    relay = relay_process.relay()
    run_relay(relay, NEVER, running)
    listening(relay)
    # A first event, so that the relay has looked and waits, with nothing left to wake it
    # but the next notification.
    first = save_contact(api)
    wait_until("the first event published", lambda: relay.position >= first, 30)

    position = save_contact(api)

    assert wait_until("the event published", lambda: relay.position >= position, 30)
    assert announcer_of(api).sent >= 2


def test_an_event_saved_without_any_notification_is_published_at_the_relays_poll(api_and_relay, running):
    api, relay_process = api_and_relay
    relay = relay_process.relay()
    run_relay(relay, 0.3, running)
    listening(relay)
    # A save that nobody announces: the announcer is closed (as if its NOTIFY were lost).
    announcer = announcer_of(api)
    announcer.close()

    position = save_contact(api)

    assert wait_until("the event published", lambda: relay.position >= position, 30)
    assert announcer.sent == 0


def test_a_listener_whose_connection_was_cut_listens_again_and_wakes_the_relay(api_and_relay, running):
    api, relay_process = api_and_relay
    relay = relay_process.relay()
    run_relay(relay, NEVER, running)
    listener = listening(relay)
    url = relay_process.settings.event_store_url
    before = listener.connections
    with psycopg.connect(url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'eventcrm relay listener' AND datname = current_database()"
        ).fetchall()
    assert cut == [(True,)]
    # Counted, not watched: the listener may be back within the moment it was away.
    wait_until("the listener listening again", lambda: listener.connections > before, 30)
    listening(relay)

    position = save_contact(api)

    assert wait_until("the event published", lambda: relay.position >= position, 30)


def test_an_announcement_reaches_a_listener_and_sqlite_stores_have_neither(postgres_dsn, tmp_path):
    woken = threading.Event()
    listener, announcer = Listener(postgres_dsn), Announcer(postgres_dsn)
    try:
        listener.start(woken.set)
        wait_until("listening", listener.listening.is_set, 30)
        woken.clear()  # the listener wakes once as it starts listening

        announcer.saved()

        assert woken.wait(30)
        # The announcer counts a notification once its own thread has sent it, which may
        # be just after the listener heard it.
        wait_until("counted", lambda: announcer.sent == 1, 10)
    finally:
        announcer.close()
        listener.close()
    sqlite = f"sqlite:///{tmp_path / 'events.sqlite'}"
    assert announcer_for(sqlite) is None and listener_for(sqlite) is None
