"""Relays for availability, on the real servers (PostgreSQL event store, Kafka): only the
holder of the relay lease publishes; when it goes (closed, its session ended, its process
killed) a standby takes over from the recorded position, and Kafka holds every event, each
subject's in version order in one partition, none lost. Also: what the relay reads from
the store is published byte for byte as every other path encodes it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from kafka.partitioner.default import murmur2

from crm import story
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from streams.envelope import from_domain_event
from streams.lease import FileLease
from streams.outbox import NotificationLog, encode
from streams.relay import RELAY_NAME
from tests.faults.processes import CrmProcess, crm_env, event_topics, kafka_records, wait_until
from tests.integration.test_projector_restart import record_activity

META = Meta("t", "relay", "relay")


@pytest.fixture
def two_processes(production_settings: dict) -> Iterator[tuple[Container, Container]]:
    """Two containers on one deployment, as two `crm relay` processes would be."""
    first, second = Container(Settings(**production_settings)), Container(Settings(**production_settings))
    yield first, second
    for container in (second, first):
        container.close()


def on_kafka(settings: Settings) -> dict[str, list[int]]:
    """Each subject's sequences in the order Kafka holds them, after checking that a subject's
    records are all in the partition Kafka's default partitioner gives its key."""
    bootstrap = settings.kafka_bootstrap
    assert bootstrap is not None
    sequences: dict[str, list[int]] = {}
    for (_, partition), records in kafka_records(bootstrap, event_topics(settings.kafka_topic_prefix)).items():
        for r in records:
            assert r.key == r.subject
            assert partition == (murmur2(r.key.encode()) & 0x7FFFFFFF) % settings.kafka_partitions, r
            sequences.setdefault(r.subject, []).append(r.sequence)
    return sequences


def drain(relay) -> int:
    published = 0
    while n := relay.publish_pending():
        published += n
    return published


def test_only_the_relay_holding_the_lease_publishes(two_processes):
    first, second = two_processes
    versions = record_activity(first, contacts=3, interactions=2)
    active, standby = first.relay(), second.relay()

    assert drain(active) == 9
    versions |= record_activity(second, contacts=1, interactions=1)  # saved by the standby's process
    assert standby.publish_pending() == 0
    assert drain(active) == 2

    assert on_kafka(first.settings) == {s: list(range(1, v + 1)) for s, v in versions.items()}


def test_a_standby_takes_over_from_the_recorded_position_when_the_active_relay_goes(two_processes):
    first, second = two_processes
    versions = record_activity(first, contacts=2, interactions=3)
    active, standby = first.relay(), second.relay()
    assert drain(active) == 8
    versions |= record_activity(first, contacts=2, interactions=1)
    assert standby.publish_pending() == 0

    first.close()  # as its process ends: the lease goes with its session
    assert drain(standby) == 4
    assert standby.position == active.position + 4

    assert on_kafka(second.settings) == {s: list(range(1, v + 1)) for s, v in versions.items()}


def test_a_relay_whose_session_ended_publishes_nothing_more_and_stands_by(two_processes, postgres_dsn):
    first, second = two_processes
    versions = record_activity(first, contacts=2, interactions=1)
    active, standby = first.relay(), second.relay()
    assert drain(active) == 4
    versions |= record_activity(first, contacts=1, interactions=2)

    # The server ends the active relay's session (as when it stops hearing from its host).
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE %s",
            (f"eventcrm {RELAY_NAME} (%",),
        ).fetchall()
    assert ended == [(True,)]
    wait_until("the standby took the lease", lambda: standby.publish_pending() == 3, 10)

    with pytest.raises(psycopg.OperationalError):
        active.publish_pending()  # an outage, to its supervisor
    assert active.publish_pending() == 0  # connected again, it stands by

    versions |= record_activity(first, contacts=1, interactions=0)
    second.close()
    # Its lease back, it starts from the position the other relay recorded, not from its own.
    assert drain(active) == 1
    assert on_kafka(first.settings) == {s: list(range(1, v + 1)) for s, v in versions.items()}


def test_sigkilling_the_active_relay_process_hands_over_to_the_standby_losing_and_reordering_nothing(
    tmp_path: Path, postgres_dsn: str, kafka_bootstrap: str, topic_prefix: str
):
    env = crm_env(
        data_dir=tmp_path / "data",
        event_store=postgres_dsn,
        oltp_dsn=postgres_dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        olap_path=tmp_path / "analytics.duckdb",
    )
    settings = Settings(
        data_dir=tmp_path / "client",
        event_store=postgres_dsn,
        kafka_bootstrap=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
    )
    client = Container(settings)
    relays = [CrmProcess(f"relay-{n}", ["relay"], env, tmp_path / "logs") for n in (1, 2)]
    try:
        first, second = relays
        wait_until("one relay active", lambda: first.log_count("relay active") + second.log_count("relay active"), 60)
        wait_until(
            "the other standing by", lambda: first.log_count("standing by") + second.log_count("standing by"), 60
        )
        active, standby = (first, second) if first.log_count("relay active") else (second, first)
        versions = record_activity(client, contacts=3, interactions=3)
        expected = {s: list(range(1, v + 1)) for s, v in versions.items()}
        # Everything once: the standby published nothing.
        wait_until("the first events on Kafka", lambda: on_kafka(settings) == expected, 30)

        versions |= record_activity(client, contacts=2, interactions=2)
        active.kill()  # SIGKILL, while it may be publishing these
        assert active.proc.returncode == -signal.SIGKILL
        versions |= record_activity(client, contacts=2, interactions=2)
        wait_until("the standby active", lambda: standby.log_count("relay active"), 10)

        def everything_published() -> bool:
            held = on_kafka(settings)
            return set(held) == set(versions) and all(max(held[s]) == v for s, v in versions.items())

        wait_until("every event on Kafka", everything_published, 30)
        for subject, sequences in on_kafka(settings).items():
            # At least once: a repeat of the killed relay's last batch is allowed; the first
            # occurrences are each version once, in order.
            firsts = list(dict.fromkeys(sequences))
            assert firsts == list(range(1, versions[subject] + 1)), (subject, sequences)
        assert standby.alive(), standby.log()
    except BaseException:
        print("\n".join(r.log() for r in relays))
        raise
    finally:
        for relay in relays:
            relay.kill()
        client.close()


def test_relays_over_one_sqlite_store_take_turns_by_a_file_lock(tmp_path: Path):
    path = tmp_path / "events.sqlite.relay.lock"
    first, second = FileLease(path, RELAY_NAME), FileLease(path, RELAY_NAME)
    assert first.hold() and first.term == 1
    assert not second.hold()
    first.close()
    assert second.hold() and second.term == 1
    assert not first.hold()
    second.close()


def test_the_relay_publishes_what_it_reads_as_the_envelope_of_each_stored_event(production):
    story.record_year(production.commands.execute, contacts=12, seed=3)
    store = production.store
    notifications = NotificationLog(store).after(0, 100_000)
    assert len({n.topic for n in notifications}) > 10
    assert [n.id for n in notifications] == [
        n.id for n in store.recorder.select_notifications(start=0, limit=100_000, inclusive_of_start=False)
    ]
    for n in notifications:
        event, chain = store.read_sealed(n)
        assert encode(store, n).value == from_domain_event(event, n.id, chain).to_json()
