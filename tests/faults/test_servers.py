"""The fault-test infrastructure works: private servers keep their data across restarts and
crashes, clients see their outages, and none of it touches the shared services."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from tests.faults.servers import (
    SHARED_PORTS,
    Outage,
    PrivateKafka,
    PrivatePostgres,
    ServerSetupError,
    kafka_answers,
    kafka_libs,
    list_clusters,
    port_open,
)

# kafka-python backs off reconnecting up to 30 s by default, so a client would notice a
# restarted broker up to ~30 s late; fault tests want to see the recovery, not the backoff.
CLIENT = {"reconnect_backoff_max_ms": 1000, "request_timeout_ms": 5000}


# --------------------------------------------------------------------------- Kafka helpers


def create_topic(bootstrap: str) -> str:
    topic = f"faults.{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **CLIENT)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], wait_for_metadata=True)
    finally:
        admin.close()
    return topic


def produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **CLIENT)
    try:
        producer.send(topic, value).get(timeout=30)
    finally:
        producer.close(timeout=5)


def read_all(bootstrap: str, topic: str, timeout: float = 30.0) -> list[bytes]:
    """Every record of partition 0, from a new consumer: what the broker kept."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **CLIENT)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
        return values
    finally:
        consumer.close()


# --------------------------------------------------------------------------- Kafka


def test_private_kafka_keeps_its_records_across_a_restart_and_a_crash(private_kafka: PrivateKafka) -> None:
    assert private_kafka.port not in SHARED_PORTS and private_kafka.controller_port not in SHARED_PORTS
    bootstrap = private_kafka.bootstrap
    topic = create_topic(bootstrap)
    produce(bootstrap, topic, b"one")
    assert read_all(bootstrap, topic) == [b"one"]

    private_kafka.restart()  # SIGTERM: a clean shutdown
    assert private_kafka.bootstrap == bootstrap
    assert read_all(bootstrap, topic) == [b"one"]

    produce(bootstrap, topic, b"two")
    private_kafka.restart(hard=True)  # SIGKILL: the log is recovered at start
    assert read_all(bootstrap, topic) == [b"one", b"two"]


def test_kafka_requests_fail_during_an_outage_and_succeed_after(private_kafka: PrivateKafka) -> None:
    bootstrap = private_kafka.bootstrap
    topic = create_topic(bootstrap)
    # Short timeouts so the request fails inside the outage instead of outliving it.
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        reconnect_backoff_max_ms=1000,
        request_timeout_ms=1500,
        delivery_timeout_ms=3000,
        max_block_ms=3000,
    )
    try:
        producer.send(topic, b"before").get(timeout=10)
        with Outage(private_kafka, seconds=5) as outage:
            outage.wait_down(timeout=30)
            assert not port_open(private_kafka.port)
            started = time.monotonic()
            with pytest.raises(KafkaError):  # KafkaTimeoutError: the batch expires unsent
                producer.send(topic, b"during").get(timeout=10)
            assert time.monotonic() - started < 6
            assert not outage.over
            assert not kafka_answers(bootstrap, timeout=1.0)
            outage.wait_up(timeout=90)

        # The same producer recovers by itself once the broker is back.
        started = time.monotonic()
        producer.send(topic, b"after").get(timeout=30)
        print(f"broker down {outage.downtime:.1f}s; first send after it took {time.monotonic() - started:.2f}s")
    finally:
        producer.close(timeout=5)
    assert read_all(bootstrap, topic) == [b"before", b"after"]

    # Teardown leaves nothing running (the fixture's close() afterwards is a no-op).
    private_kafka.close()
    assert not private_kafka.is_running()
    assert not port_open(private_kafka.port) and not port_open(private_kafka.controller_port)


def test_missing_kafka_jars_fail_loudly_naming_services_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTCRM_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ServerSetupError, match="make services-up"):
        kafka_libs()


def test_private_kafka_config_never_names_a_shared_port(tmp_path: Path) -> None:
    props = PrivateKafka(tmp_path).properties()
    for key in ("listeners", "advertised.listeners", "controller.quorum.voters"):
        assert not any(f":{port}" in props[key] for port in SHARED_PORTS), props[key]
    # What a fault test relies on, as on the shared broker.
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


# --------------------------------------------------------------------------- PostgreSQL


def rows(dsn: str) -> list[str]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return [v for (v,) in conn.execute("SELECT v FROM kept ORDER BY id")]


def insert(dsn: str, value: str) -> None:
    with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
        conn.execute("INSERT INTO kept (v) VALUES (%s)", (value,))


def test_private_postgres_keeps_its_rows_across_a_restart_and_a_crash(private_postgres: PrivatePostgres) -> None:
    assert private_postgres.port not in SHARED_PORTS and ":5432/" not in private_postgres.dsn
    dsn = private_postgres.dsn
    with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id serial PRIMARY KEY, v text NOT NULL)")
        conn.execute("CREATE DATABASE scratch")  # crm may create databases, as on the shared one
    insert(dsn, "one")

    private_postgres.restart()  # fast shutdown
    assert rows(dsn) == ["one"]

    insert(dsn, "two")
    private_postgres.restart(hard=True)  # immediate shutdown: WAL replay at start
    assert rows(dsn) == ["one", "two"]


def test_postgres_refuses_connections_quickly_during_an_outage(private_postgres: PrivatePostgres) -> None:
    dsn = private_postgres.dsn
    before = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
    try:
        with Outage(private_postgres, seconds=3) as outage:
            outage.wait_down(timeout=30)
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(dsn, connect_timeout=2)
            assert time.monotonic() - started < 3
            with pytest.raises(psycopg.OperationalError):  # its session was ended by the stop
                before.execute("SELECT 1")
            assert not outage.over
            outage.wait_up(timeout=60)
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        before.close()

    # Teardown removes the cluster (the fixture's drop() afterwards is a no-op).
    private_postgres.drop()
    assert private_postgres.name not in {name for _, name, _ in list_clusters()}
    assert not port_open(private_postgres.port)


# --------------------------------------------------------------------------- Outage


class FakeServer:
    def __init__(self, fail_start: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_start = fail_start

    def start(self) -> None:
        self.calls.append("start")
        if self.fail_start:
            raise RuntimeError("no start")

    def stop(self) -> None:
        self.calls.append("stop")

    def kill(self) -> None:
        self.calls.append("kill")


def test_outage_takes_the_server_down_for_the_time_asked() -> None:
    server = FakeServer()
    with Outage(server, seconds=0.3, after=0.1, kill=True) as outage:
        outage.wait_down(timeout=5)
        assert server.calls == ["kill"]
        outage.wait_up(timeout=5)
    assert server.calls == ["kill", "start"]
    assert outage.downtime is not None and 0.3 <= outage.downtime < 2


def test_outage_reports_a_failed_start_to_the_test() -> None:
    with pytest.raises(ServerSetupError, match="no start"):
        with Outage(FakeServer(fail_start=True), seconds=0.1):
            pass


def test_outage_ends_early_when_the_test_body_fails() -> None:
    server = FakeServer()
    started = time.monotonic()
    with pytest.raises(ZeroDivisionError):
        with Outage(server, seconds=60) as outage:
            outage.wait_down(timeout=5)
            1 / 0  # noqa: B018
    assert time.monotonic() - started < 5
    assert server.calls == ["stop", "start"]
