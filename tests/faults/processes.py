"""The installed `crm` program as separate processes, and what fault tests read back.

- `CrmProcess`: one `crm …` subprocess (relay, projector, API), its log in a file; how long
  it takes to stop after SIGTERM, and a crash (SIGKILL).
- `crm_env`: the environment of a production run (PostgreSQL, Kafka, DuckDB) with no
  `CRM_*` setting of the test's own leaking in.
- Readers of the outcome, each bounded in time: the events on Kafka, a consumer group's
  lag, the contacts of the operational read model, the warehouse's events.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

import duckdb
import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams import topics
from tests.faults.servers import tail

CRM = str(Path(sys.executable).with_name("crm"))

#: What every reader here passes to kafka-python: notice a broker back within a second.
KAFKA_CLIENT = {"reconnect_backoff_max_ms": 1000, "request_timeout_ms": 10_000}

T = TypeVar("T")


def crm_env(
    *,
    data_dir: Path,
    event_store: str,
    oltp_dsn: str,
    kafka_bootstrap: str,
    topic_prefix: str,
    olap_path: Path,
    **extra: str,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(
        CRM_DATA_DIR=str(data_dir),
        CRM_EVENT_STORE=event_store,
        CRM_OLTP_DSN=oltp_dsn,
        CRM_KAFKA_BOOTSTRAP=kafka_bootstrap,
        CRM_KAFKA_TOPIC_PREFIX=topic_prefix,
        CRM_OLAP_PATH=str(olap_path),
        PYTHONUNBUFFERED="1",
        COLUMNS="120",
    )
    env.update(extra)
    return env


class CrmProcess:
    """`crm --log-level INFO ARGS…`, started at once, output appended to `log_path`."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("ab") as log:
            log.write(f"==== {' '.join(args)} at {time.strftime('%H:%M:%S')} ====\n".encode())
            log.flush()
            # Its own session: a Ctrl-C meant for pytest does not reach it.
            self.proc = subprocess.Popen(
                [CRM, "--log-level", "INFO", *args],
                env=dict(env),
                cwd=log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        self._asked_at = 0.0
        self._exited_at: float | None = None
        self._waiter = threading.Thread()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self, lines: int = 40) -> str:
        return f"--- {self.name} (pid {self.pid}, exit {self.proc.poll()}) log:\n{tail(self.log_path, lines)}"

    def log_count(self, text: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(text)
        except OSError:
            return 0

    def sigterm(self) -> None:
        """Asks it to stop; `stopped` then says how long it took (timed by a thread of its
        own, so that processes asked together are each timed right)."""
        assert self.alive(), f"{self.name} had already exited\n{self.log()}"
        self._asked_at = time.monotonic()
        self._exited_at = None
        self.proc.send_signal(signal.SIGTERM)

        def note_exit() -> None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(120)
                self._exited_at = time.monotonic()

        self._waiter = threading.Thread(target=note_exit, name=f"wait-{self.name}", daemon=True)
        self._waiter.start()

    def stopped(self, limit: float) -> float:
        """Seconds from `sigterm` until it exited. Fails the test (after a SIGKILL) when it
        still runs `limit` seconds after the signal."""
        self._waiter.join(max(self._asked_at + limit - time.monotonic(), 0))
        if self._exited_at is None:
            self.kill()
            raise AssertionError(f"{self.name} still ran {limit:.0f}s after SIGTERM\n{self.log()}")
        return self._exited_at - self._asked_at

    def terminate(self, limit: float) -> float:
        self.sigterm()
        return self.stopped(limit)

    def kill(self) -> None:
        """A crash: SIGKILL, and wait until the process is gone (its locks with it)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def stop_signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)


def wait_until(what: str, check: Callable[[], T | None], timeout: float, every: float = 0.2) -> T:
    """Calls `check` until it answers something truthy; fails after `timeout` seconds with
    the last answer (or error)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            answer = check()
            if answer:
                return answer
            last = answer
        except Exception as exc:  # a store still coming back: keep asking until the deadline
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s (last answer: {last!r})")
        time.sleep(every)


def all_alive(processes: Iterable[CrmProcess]) -> None:
    dead = [p for p in processes if not p.alive()]
    assert not dead, "exited although nobody stopped them:\n" + "\n".join(p.log() for p in dead)


# --------------------------------------------------------------------------- Kafka


def _partitions(consumer: KafkaConsumer, names: Iterable[str]) -> list[TopicPartition]:
    consumer.topics()  # fetches the cluster's metadata, so that partitions_for_topic knows
    return [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]


def event_topics(prefix: str) -> list[str]:
    return topics.all_topics(prefix)


class OnKafka(NamedTuple):
    """One record of an event topic, as a reader of the contract sees it."""

    offset: int
    key: str
    subject: str
    sequence: int
    id: str


def kafka_records(bootstrap: str, names: Iterable[str], timeout: float = 60.0) -> dict[tuple[str, int], list[OnKafka]]:
    """Every record on the topics, read from their beginning: (topic, partition) → its
    records in offset order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **KAFKA_CLIENT)
    try:
        parts = _partitions(consumer, names)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        seen: dict[tuple[str, int], list[OnKafka]] = {(tp.topic, tp.partition): [] for tp in parts}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, f"could not read the topics within {timeout:.0f}s"
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    event = json.loads(r.value)
                    key = (r.key or b"").decode()
                    seen[(tp.topic, tp.partition)].append(
                        OnKafka(r.offset, key, event["subject"], int(event["sequence"]), event["id"])
                    )
        return seen
    finally:
        consumer.close()


def kafka_events(bootstrap: str, names: Iterable[str], timeout: float = 60.0) -> Counter[tuple[str, int]]:
    """How often each `(subject, sequence)` is on the topics, read from their beginning."""
    records = kafka_records(bootstrap, names, timeout)
    return Counter((r.subject, r.sequence) for partition in records.values() for r in partition)


def group_lag(bootstrap: str, group: str, names: Iterable[str]) -> int:
    """Records on the topics not yet committed by the group. A projector commits to Kafka
    only after its own transaction, so 0 means its read model holds everything."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **KAFKA_CLIENT)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_CLIENT)
    try:
        parts = _partitions(consumer, names)
        ends = consumer.end_offsets(parts)
        committed = admin.list_group_offsets({group: None}).get(group, {})
        return sum(max(ends[tp] - (committed[tp].offset if tp in committed else 0), 0) for tp in parts)
    finally:
        admin.close()
        consumer.close()


def group_state(bootstrap: str, group: str) -> tuple[str, list[str]]:
    """(state, static names of its members) of a consumer group, as the broker sees it."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_CLIENT)
    try:
        described = admin.describe_groups([group])[group]
        return described["group_state"], [str(m.get("group_instance_id")) for m in described["members"]]
    except KafkaError:
        return "unknown", []
    finally:
        admin.close()


def projector_group(prefix: str, name: str) -> str:
    """The consumer group `crm project NAME` joins (crm/wiring.py)."""
    return f"{prefix}.projector.{name}"


# --------------------------------------------------------------------------- read models


def oltp_versions(dsn: str) -> dict[str, int]:
    """Contact id → version in the operational read model ({} before the projector made it)."""
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        try:
            return {i: v for i, v in conn.execute("SELECT id::text, version FROM contacts")}
        except psycopg.errors.UndefinedTable:
            return {}


def oltp_has(dsn: str, contact_id: str) -> bool:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        try:
            return conn.execute("SELECT 1 FROM contacts WHERE id = %s", (contact_id,)).fetchone() is not None
        except psycopg.errors.UndefinedTable:
            return False


def warehouse_contacts(path: Path) -> dict[str, tuple[int, int]]:
    """Contact id → (highest sequence, distinct sequences) in the warehouse. Only once no
    process holds the file: DuckDB locks it for its one writer."""
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "SELECT subject::VARCHAR, max(sequence), count(DISTINCT sequence) FROM events "
            "WHERE aggregate_type = 'contact' GROUP BY subject"
        ).fetchall()
    return {s: (m, n) for s, m, n in rows}


def missing_from_kafka(expected: Mapping[str, int], seen: Counter[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(s, q) for s, v in expected.items() for q in range(1, v + 1) if (s, q) not in seen]


Spawn = Callable[[str, list[str], Mapping[str, str]], CrmProcess]


@contextlib.contextmanager
def spawner(log_dir: Path) -> Iterator[Spawn]:
    """``start("relay", ["relay"], env)`` starts `crm ARGS…`, its log in ``log_dir/NAME.log``;
    whatever still runs at the end is killed with every process it started (the API workers
    of `crm serve --workers N` are in its process group)."""
    started: list[CrmProcess] = []

    def start(name: str, args: list[str], env: Mapping[str, str]) -> CrmProcess:
        process = CrmProcess(name, args, env, log_dir)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.kill()
