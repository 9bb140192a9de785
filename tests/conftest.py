"""Shared fixtures. Tests that need PostgreSQL or Kafka use the real servers that
`make services-up` starts; when one is missing they fail, they never skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.settings import Settings
from crm.wiring import Container
from tests.topics import KAFKA, delete_topics

PG_ADMIN_DSN = os.environ.get("CRM_TEST_POSTGRES", "postgresql://crm:crm@127.0.0.1:5432/crm")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test``, ``--dist loadgroup``) a test file runs whole in one
    worker, and the fault tests, which start and kill servers and time how processes recover,
    run one after the other in one worker rather than against each other."""
    for item in items:
        path = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group("faults" if path.startswith("tests/faults/") else path))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not answering at {PG_ADMIN_DSN} (run 'make services-up'): {exc}")
    return PG_ADMIN_DSN


@pytest.fixture
def postgres_dsn(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg

    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    _drop_database(postgres_server, name)


def _drop_database(server: str, name: str, attempts: int = 10) -> None:
    """FORCE cannot end a superuser's backend (an autovacuum worker on the new database,
    say): such a session ends by itself within moments, so try again a few times."""
    import time

    import psycopg

    for attempt in range(attempts):
        try:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=5000)
        admin.describe_cluster()
        admin.close()
    except (KafkaError, OSError) as exc:
        pytest.fail(f"Kafka is not answering at {KAFKA} (run 'make services-up'): {exc}")
    return KAFKA


@pytest.fixture
def topic_prefix() -> Iterator[str]:
    """Topics of their own per test, so tests never read each other's events; deleted
    afterwards, since the one broker every test shares holds a few open files for each
    partition it keeps, and runs out of them long before a whole run's topics add up."""
    prefix = f"crmtest{uuid.uuid4().hex[:10]}"
    yield prefix
    delete_topics(prefix)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Container]:
    """The default: no server at all."""
    container = Container(Settings(data_dir=tmp_path / "data"))
    yield container
    container.close()


@pytest.fixture
def production_settings(tmp_path: Path, postgres_dsn: str, kafka_bootstrap: str, topic_prefix: str) -> dict:
    """PostgreSQL event store and OLTP, Kafka, DuckDB: what production runs."""
    return {
        "data_dir": tmp_path / "data",
        "event_store": postgres_dsn,
        "oltp_dsn": postgres_dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "kafka_topic_prefix": topic_prefix,
        "olap_path": tmp_path / "analytics.duckdb",
    }


@pytest.fixture
def production(production_settings: dict) -> Iterator[Container]:
    container = Container(Settings(**production_settings))
    yield container
    container.close()
