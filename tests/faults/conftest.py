"""Fixtures for fault tests: a private Kafka broker and a private PostgreSQL cluster.

Function-scoped: a fault test leaves its server stopped, killed or half-recovered, and the
next test must not inherit that. Startup is cheap enough for it (medians on a 2-CPU machine:
Kafka formats in 1.2 s and answers 4.1 s later, closes in 0.5 s; a PostgreSQL cluster is
created, started and provisioned in 4.3 s, dropped in 1.9 s).

Missing prerequisites fail the test, they never skip it: `make test` runs `make services-up`
first, which caches the Kafka jars and installs PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.processes import Spawn, spawner
from tests.faults.servers import SHARED_PORTS, PrivateKafka, PrivatePostgres, ServerSetupError


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[PrivateKafka]:
    """A KRaft broker of the test's own, on free ports; killed at teardown whatever happened."""
    broker = PrivateKafka(tmp_path / "kafka")
    assert broker.port not in SHARED_PORTS and broker.controller_port not in SHARED_PORTS
    try:
        try:
            broker.start()
        except ServerSetupError as exc:
            pytest.fail(f"private Kafka: {exc}", pytrace=False)
        # Shown with a failing test's captured output; tmp_path (and the log) outlive the run.
        print(f"private Kafka on {broker.bootstrap}, log {broker.log_path}")
        yield broker
    finally:
        broker.close()


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own (crm/crm, database crm), dropped at teardown."""
    try:
        cluster = PrivatePostgres()
    except ServerSetupError as exc:
        pytest.fail(f"private PostgreSQL: {exc}", pytrace=False)
    assert cluster.port not in SHARED_PORTS
    log_copy = tmp_path / "postgres.log"
    try:
        try:
            cluster.start()
        except ServerSetupError as exc:
            pytest.fail(f"private PostgreSQL: {exc}", pytrace=False)
        print(f"private PostgreSQL at {cluster.dsn} (cluster {cluster.version}/{cluster.name}), log kept in {log_copy}")
        yield cluster
    finally:
        cluster.drop(keep_log=log_copy)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Starts `crm ARGS…` as a subprocess (`spawn("relay", ["relay"], env)`), its log in
    tmp_path/logs/NAME.log; whatever is still running at teardown is killed."""
    with spawner(tmp_path / "logs") as start:
        yield start
