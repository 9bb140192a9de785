"""Crashes of real processes at random moments: guarantees 3 (no loss, no reordering per
aggregate, whatever process is killed at whatever moment) and 4 (exactly-once effect in
the read models), with the installed `crm` program.

- Production: `crm relay`, `crm project oltp` and `crm project olap`, each a process of its
  own (PostgreSQL in a fresh database, the shared Kafka under topics of the test's own,
  DuckDB), while two threads of the test issue commands: contacts with interactions, deals
  moving through stages, won, lost and reopened, cases through their life. 24 SIGKILLs at
  random moments, each process restarted at once: while it starts, while it follows the
  load, and while it catches up after a short freeze. Once all caught up, the event store
  is the oracle: every event is on Kafka at least once, on its topic and key, in version
  order per aggregate with no gap (a repeat is the same event); each operational row is at
  its aggregate's last version and the timeline holds each event once; the warehouse holds
  each event exactly once, its state tables at each aggregate's last version, its facts
  exactly the events that make them; nothing was dead-lettered; each read model equals its
  rebuild from the store (`crm projections rebuild NAME --from store`: a replay that never
  crashed) row for row; `crm audit verify --kafka` is clean.
- Embedded: `crm serve` with no server (SQLite event store and read model, DuckDB, the
  projectors and automations as threads of the one process), SIGKILLed while two clients
  post commands over HTTP, each request sent again with its Idempotency-Key until answered:
  no command is recorded twice, both read models catch up to the same checks, and
  `crm audit verify` is clean.

The seed is printed; `CRM_CRASH_SEED=N` replays the kill schedule and the commands'
choices (not the processes' own timing). About 45 s and 20 s on two cores.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import httpx
import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from commands.case import (
    AssignCase,
    CloseCase,
    MarkCasePending,
    OpenCase,
    RecordCustomerReply,
    ReopenCase,
    ResolveCase,
    RespondToCase,
)
from commands.contact import ChangeContactDetails, ChangeLifecycleStage, CreateContact, RecordInteraction
from commands.deal import CreateDeal, LoseDeal, MoveDeal, ReopenDeal, WinDeal
from commands.pipeline import CreatePipeline, SetStageProbability
from crm.settings import Settings
from crm.wiring import Container
from domain.errors import DomainError
from domain.meta import Meta
from domain.pipeline import Stage
from projections.oltp import schema as oltp_schema
from projections.oltp import timeline as timeline_module
from streams.relay import RELAY_NAME
from tests.faults.processes import (
    CRM,
    KAFKA_CLIENT,
    CrmProcess,
    OnKafka,
    Spawn,
    all_alive,
    crm_env,
    event_topics,
    group_lag,
    kafka_records,
    projector_group,
    wait_until,
)
from tests.faults.servers import free_port

META = Meta(actor="faults", correlation_id="crashes", causation_id="crashes")
SEED = int(os.environ.get("CRM_CRASH_SEED") or random.SystemRandom().randrange(2**32))
#: SIGKILLs in the production run, spread over the three processes.
KILLS = 24
#: SIGKILLs of `crm serve` in the embedded run.
SERVE_KILLS = 5
#: How long a process may take to stop after SIGTERM (its watchdog ends it after 12 s).
STOP_LIMIT = 20.0
#: How long the pipeline may take to hold everything once the last crash is over.
CATCH_UP_LIMIT = 90.0
STAGES = [Stage("qualify", "Qualify", 0.2), Stage("demo", "Demo", 0.4), Stage("proposal", "Proposal", 0.6)]
#: The operational model's aggregate tables (each row with its aggregate's `version`).
OLTP_AGGREGATES = {"contacts": "contact", "deals": "deal", "cases": "case", "pipelines": "pipeline"}
INTERACTIONS = ("email_opened", "page_visited", "content_downloaded", "call", "meeting")


# --------------------------------------------------------------------------- the load


@dataclass
class Load:
    """Commands drawn by a seeded RNG over the aggregates this load made: new contacts,
    interactions, deals created, moved, won, lost and reopened, cases through their life,
    now and then a pipeline's probabilities. A command a rule refuses (moving a closed deal,
    say) records nothing and is only counted; any other error stops the test."""

    execute: Callable[[object], Any]
    rng: random.Random
    pipelines: list[UUID]
    #: Only what the HTTP API offers (its case routes stop at resolve).
    http: bool = False
    contacts: list[UUID] = field(default_factory=list)
    deals: list[UUID] = field(default_factory=list)
    cases: list[UUID] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0

    def step(self) -> None:
        command = self.next_command()
        try:
            result = self.execute(command)
        except DomainError:
            self.refused += 1
            return
        self.accepted += 1
        if isinstance(command, CreateContact):
            self.contacts.append(result.id)
        elif isinstance(command, CreateDeal):
            self.deals.append(result.id)
        elif isinstance(command, OpenCase):
            self.cases.append(result.id)

    def next_command(self) -> object:
        rng = self.rng
        roll = rng.random()
        if len(self.contacts) < 3 or roll < 0.12:
            return CreateContact(name=f"Person {uuid.uuid4().hex[:6]}", owner=rng.choice(("ana", "ben")))
        contact = rng.choice(self.contacts)
        if roll < 0.35:
            return RecordInteraction(contact, rng.choice(INTERACTIONS), datetime.now(UTC))
        if roll < 0.38:
            return ChangeLifecycleStage(contact, rng.choice(("lead", "marketing_qualified", "sales_qualified")))
        if roll < 0.40:
            return ChangeContactDetails(contact, {"owner": rng.choice(("ana", "ben", "cy"))})
        if roll < 0.47 or not self.deals:
            return CreateDeal(
                rng.choice(self.pipelines), f"Deal {uuid.uuid4().hex[:6]}", contact_id=contact, amount=Decimal(500)
            )
        if roll < 0.70:
            deal = rng.choice(self.deals)
            kind = rng.random()
            if kind < 0.6:
                return MoveDeal(deal, rng.choice(STAGES).key)
            if kind < 0.75:
                return WinDeal(deal, Decimal(rng.randrange(100, 5000)), date.today())
            if kind < 0.9:
                return LoseDeal(deal, "too dear")
            return ReopenDeal(deal)
        if roll < 0.77 or not self.cases:
            return OpenCase(contact, "cannot log in", rng.choice(("low", "normal", "high")))
        if roll < 0.98:
            case = rng.choice(self.cases)
            kind = rng.random() * (0.45 if self.http else 1.0)
            if self.http and kind >= 0.35:
                return ResolveCase(case, "sorted")
            if kind < 0.2:
                return AssignCase(case, rng.choice(("dee", "eve")))
            if kind < 0.45:
                return RespondToCase(case, "dee")
            if kind < 0.55:
                return MarkCasePending(case)
            if kind < 0.65:
                return RecordCustomerReply(case)
            if kind < 0.85:
                return ResolveCase(case, "sorted")
            if kind < 0.93:
                return ReopenCase(case)
            return CloseCase(case)
        return SetStageProbability(rng.choice(self.pipelines), rng.choice(STAGES).key, rng.choice((0.3, 0.5, 0.7)))


class Loader:
    """Runs loads on threads of their own until stopped; the first unexpected error ends
    them and is raised by `stop`."""

    def __init__(self, loads: list[Load], pause: float) -> None:
        self.loads = loads
        self.pause = pause
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._threads = [threading.Thread(target=self._run, args=(load,), daemon=True) for load in loads]

    def _run(self, load: Load) -> None:
        try:
            while not self._stop.is_set():
                load.step()
                time.sleep(load.rng.uniform(0, self.pause))
        except BaseException as exc:  # reported by stop()
            self.error = exc
            self._stop.set()

    def start(self) -> Loader:
        for thread in self._threads:
            thread.start()
        return self

    def check(self) -> None:
        assert self.error is None, f"the load failed: {self.error!r}"

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        self.check()

    @property
    def accepted(self) -> int:
        return sum(load.accepted for load in self.loads)

    @property
    def refused(self) -> int:
        return sum(load.refused for load in self.loads)


# --------------------------------------------------------------------------- the oracle


@dataclass(frozen=True)
class Stored:
    position: int
    subject: str
    version: int
    type: str  # crm.<aggregate>.<event>.v<N>

    @property
    def aggregate_type(self) -> str:
        return self.type.split(".")[1]


def store_events(container: Container) -> list[Stored]:
    """Every event of the event store, in notification (commit) order."""
    events: list[Stored] = []
    after = 0
    while notifications := container.store.recorder.select_notifications(
        start=after, limit=5000, inclusive_of_start=False
    ):
        events += [Stored(n.id, str(n.originator_id), n.originator_version, n.topic) for n in notifications]
        after = notifications[-1].id
    by_subject: dict[str, list[int]] = defaultdict(list)
    for e in events:
        by_subject[e.subject].append(e.version)
    broken = {s: v for s, v in by_subject.items() if v != list(range(1, len(v) + 1))}
    assert not broken, f"the event store's own log is not in version order: {broken}"
    return events


def last_versions(events: list[Stored], aggregate_type: str) -> dict[str, int]:
    last: dict[str, int] = {}
    for e in events:
        if e.aggregate_type == aggregate_type:
            last[e.subject] = max(last.get(e.subject, 0), e.version)
    return last


def keys_of(events: list[Stored], *types: str) -> set[tuple[str, int]]:
    return {(e.subject, e.version) for e in events if e.type in types}


def check_created_once(events: list[Stored], loads: list[Load], pipelines: list[UUID]) -> None:
    """Each aggregate in the store is one a client was told it created, and the other way
    round: no command recorded twice (a request sent again after a crash included)."""
    for aggregate, made in (
        ("contact", [c for load in loads for c in load.contacts]),
        ("deal", [d for load in loads for d in load.deals]),
        ("case", [c for load in loads for c in load.cases]),
        ("pipeline", pipelines),
    ):
        assert sorted(last_versions(events, aggregate)) == sorted(map(str, made)), f"{aggregate}s (seed {SEED})"


def check_kafka(events: list[Stored], on_kafka: dict[tuple[str, int], list[OnKafka]], prefix: str) -> int:
    """Every event on its aggregate type's topic, keyed by its aggregate, in one partition;
    per aggregate, each record's sequence at most one past the highest before it (a
    republished batch repeats, never skips or reorders); a repeat is the same event (same
    id). Answers how many records were repeats."""
    expected = {(e.subject, e.version): e for e in events}
    problems: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    partition_of: dict[str, tuple[str, int]] = {}
    repeats = 0
    for (topic, partition), records in on_kafka.items():
        highest: dict[str, int] = {}
        for r in records:
            key = (r.subject, r.sequence)
            stored = expected.get(key)
            if stored is None:
                problems.append(f"{topic}[{partition}]@{r.offset}: {key} is not in the event store")
                continue
            if topic != f"{prefix}.{stored.aggregate_type}.events" or r.key != r.subject:
                problems.append(f"{topic}[{partition}]@{r.offset}: {key} on the wrong topic or key {r.key!r}")
            if partition_of.setdefault(r.subject, (topic, partition)) != (topic, partition):
                problems.append(f"{r.subject} is in {partition_of[r.subject]} and in {(topic, partition)}")
            if r.sequence > highest.get(r.subject, 0) + 1:
                problems.append(
                    f"{topic}[{partition}]@{r.offset}: {r.subject} v{r.sequence} after v{highest.get(r.subject, 0)}"
                )
            highest[r.subject] = max(highest.get(r.subject, 0), r.sequence)
            if key in seen:
                repeats += 1
                if seen[key] != r.id:
                    problems.append(f"{topic}[{partition}]@{r.offset}: {key} repeated with another event id")
            seen[key] = r.id
    missing = sorted(set(expected) - set(seen), key=lambda k: expected[k].position)
    problems += [f"missing from Kafka: {k} (position {expected[k].position})" for k in missing[:20]]
    assert not problems, f"{len(problems)} problems on Kafka (seed {SEED}):\n" + "\n".join(problems[:40])
    return repeats


def check_oltp(events: list[Stored], rows: Callable[[str], list[tuple[Any, ...]]]) -> None:
    """Each aggregate row's version is its aggregate's last; the timeline holds every event
    of contacts, deals and cases exactly once. `rows(sql)` runs a query on the read model."""
    for table, aggregate in OLTP_AGGREGATES.items():
        versions = {str(i): v for i, v in rows(f"SELECT id, version FROM {table}")}
        expected = last_versions(events, aggregate)
        wrong = {k: (versions.get(k), v) for k, v in expected.items() if versions.get(k) != v}
        extra = set(versions) - set(expected)
        assert not wrong and not extra, f"OLTP {table} (row, store) (seed {SEED}): {wrong}; not in store: {extra}"
    timeline = Counter((str(s), q) for s, q in rows("SELECT subject, sequence FROM timeline"))
    expected_timeline = {(e.subject, e.version) for e in events if e.aggregate_type in timeline_module.AGGREGATES}
    assert set(timeline) == expected_timeline and set(timeline.values()) == {1}, (
        f"OLTP timeline (seed {SEED}): missing {sorted(expected_timeline - set(timeline))[:10]}, "
        f"extra {sorted(set(timeline) - expected_timeline)[:10]}, repeated {[k for k, n in timeline.items() if n > 1]}"
    )


def check_warehouse(events: list[Stored], path: Path) -> None:
    """The warehouse holds each event exactly once; its state tables are at each aggregate's
    last version; its insert-once facts hold exactly the events that make them."""
    with duckdb.connect(str(path), read_only=True) as conn:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql).fetchall()

        held = Counter(
            {(s, q): n for s, q, n in rows("SELECT subject::VARCHAR, sequence, count(*) FROM events GROUP BY ALL")}
        )
        expected = {(e.subject, e.version) for e in events}
        assert set(held) == expected and set(held.values()) == {1}, (
            f"warehouse events (seed {SEED}): missing {sorted(expected - set(held))[:10]}, "
            f"extra {sorted(set(held) - expected)[:10]}, repeated {[k for k, n in held.items() if n > 1][:10]}"
        )
        for table, key, aggregate in (("deals", "deal_id", "deal"), ("cases", "case_id", "case")):
            versions = dict(rows(f"SELECT {key}::VARCHAR, sequence FROM {table}"))
            assert versions == last_versions(events, aggregate), f"warehouse {table} (seed {SEED})"
        stages = dict(rows("SELECT pipeline_id::VARCHAR, max(sequence) FROM dim_pipeline_stage GROUP BY ALL"))
        assert stages == last_versions(events, "pipeline"), f"warehouse dim_pipeline_stage (seed {SEED})"
        contacts = last_versions(events, "contact")
        current = rows(
            "SELECT contact_id::VARCHAR, count(*) FILTER (WHERE is_current), count(*), max(version), "
            "max(last_sequence) FILTER (WHERE is_current) FROM dim_contact GROUP BY ALL"
        )
        assert {c for c, *_ in current} == set(contacts), f"warehouse dim_contact (seed {SEED})"
        for contact, is_current, versions, highest, last in current:
            assert is_current == 1 and versions == highest and 1 <= last <= contacts[contact], (
                f"warehouse dim_contact of {contact} (seed {SEED}): current rows {is_current}, versions "
                f"{versions} up to {highest}, last sequence {last} of {contacts[contact]}"
            )
        interactions = set(rows("SELECT contact_id::VARCHAR, sequence FROM interactions"))
        assert interactions == keys_of(events, "crm.contact.interaction_recorded.v1"), f"interactions (seed {SEED})"
        intervals = set(rows("SELECT deal_id::VARCHAR, sequence FROM deal_stage_intervals"))
        assert intervals == keys_of(events, "crm.deal.stage_changed.v1", "crm.deal.won.v1", "crm.deal.lost.v1"), (
            f"deal_stage_intervals (seed {SEED})"
        )


def oltp_rows(rows: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(map(tuple, rows(f"SELECT * FROM {t}")), key=repr) for t in oltp_schema.table_names()}


def postgres_rows(dsn: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return conn.execute(sql).fetchall()

    return rows


def sqlite_rows(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    """Read-only, beside a running writer (the file is in WAL mode)."""

    def rows(sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    return rows


def olap_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                # How far each stream got and what was last published: bookkeeping, not rows.
                "AND table_name NOT IN ('projection_positions', 'projection_generations', 'channel_heads', "
                "'warehouse_snapshot')"
            ).fetchall()
        ]
        return {t: sorted(map(tuple, conn.execute(f"SELECT COLUMNS(*)::VARCHAR FROM {t}").fetchall())) for t in tables}


def run_crm(args: list[str], env: dict[str, str], timeout: float = 120.0) -> str:
    """`crm ARGS…` to its end; fails the test on a non-zero exit."""
    done = subprocess.run([CRM, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"crm {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def check_rebuilds_equal(name: str, dump: Callable[[], dict[str, list[tuple[Any, ...]]]], env: dict[str, str]) -> None:
    """The read model rebuilt from the event store (`crm projections rebuild NAME --from
    store`: a replay that never crashed) equals the one the crashed processes left, row
    for row. Needs the projector of that name stopped."""
    crashed = dump()
    run_crm(["projections", "rebuild", name, "--from", "store"], env)
    rebuilt = dump()
    assert sum(map(len, rebuilt.values())) > 100, rebuilt.keys()
    differ = {
        t: (len(crashed.get(t, [])), len(rebuilt.get(t, [])))
        for t in set(crashed) | set(rebuilt)
        if crashed.get(t) != rebuilt.get(t)
    }
    samples = {t: sorted(set(crashed.get(t, [])) ^ set(rebuilt.get(t, [])), key=repr)[:4] for t in differ}
    assert not differ, (
        f"{name} (seed {SEED}): tables that differ from a rebuild, (crashed rows, rebuilt rows): {differ}; "
        f"rows in only one of them: {samples}"
    )


def topic_records(bootstrap: str, topic: str) -> int:
    """How many records a topic ever held (0 when it does not exist)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **KAFKA_CLIENT)
    try:
        consumer.topics()
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values()) if parts else 0
    finally:
        consumer.close()


# --------------------------------------------------------------------------- production


class Backlog:
    """What a process still had to do when it was killed: events the relay had not yet
    published; records a projector had not yet committed (Kafka's view: its committed
    offsets trail its read model's by at most the batch it was writing)."""

    def __init__(self, container: Container, bootstrap: str, prefix: str) -> None:
        self._store = container.store
        self._tracking = container.store.factory.tracking_recorder()
        self._prefix = prefix
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **KAFKA_CLIENT)
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_CLIENT)
        self._consumer.topics()
        self._parts = [
            TopicPartition(t, p) for t in event_topics(prefix) for p in self._consumer.partitions_for_topic(t) or ()
        ]

    def of(self, name: str) -> int:
        if name == "relay":
            return (self._store.recorder.max_notification_id() or 0) - (self._tracking.max_tracking_id(RELAY_NAME) or 0)
        group = projector_group(self._prefix, name)
        ends = self._consumer.end_offsets(self._parts)
        committed = self._admin.list_group_offsets({group: None}).get(group, {})
        return sum(max(ends[tp] - (committed[tp].offset if tp in committed else 0), 0) for tp in self._parts)

    def on_kafka(self) -> int:
        """Records on the event topics, repeats included."""
        return sum(self._consumer.end_offsets(self._parts).values())

    def close(self) -> None:
        self._admin.close()
        self._consumer.close()


def kill_age(rng: random.Random) -> float:
    """How long a (re)started process runs before its SIGKILL."""
    return rng.uniform(0.1, 2.0) if rng.random() < 0.25 else rng.uniform(2.0, 5.5)


@dataclass(frozen=True)
class Kill:
    at: float  # seconds into the crash phase
    name: str
    age: float  # seconds the killed process had run
    how: str  # plain; frozen: a moment before, then killed while catching up; aimed: see above
    backlog: int


def test_sigkilled_relay_and_projectors_lose_nothing_and_apply_everything_once(
    tmp_path: Path, postgres_dsn: str, kafka_bootstrap: str, topic_prefix: str, spawn: Spawn
) -> None:
    print(f"\nseed {SEED} (CRM_CRASH_SEED={SEED} replays this schedule)")
    rng = random.Random(SEED)
    olap_path = tmp_path / "analytics.duckdb"
    env = crm_env(
        data_dir=tmp_path / "data",
        event_store=postgres_dsn,
        oltp_dsn=postgres_dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        olap_path=olap_path,
    )
    settings = Settings(
        data_dir=tmp_path / "client",
        event_store=postgres_dsn,
        oltp_dsn=postgres_dsn,
        kafka_bootstrap=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        olap_path=olap_path,
    )
    # The test's commands go straight to the event store, as an API process's would.
    container = Container(settings)
    pg = postgres_rows(postgres_dsn)
    processes: dict[str, CrmProcess] = {}
    kills: list[Kill] = []
    backlog: Backlog | None = None
    started = time.monotonic()
    try:

        def execute(command: object) -> Any:
            return container.commands.execute(command, META)

        pipelines = [execute(CreatePipeline(f"Pipeline {i}", STAGES)).id for i in range(2)]
        loads = [Load(execute, random.Random(rng.random()), pipelines) for _ in range(2)]
        for load in loads:
            for _ in range(5):
                load.step()
        processes = {
            "relay": spawn("relay", ["relay"], env),
            "oltp": spawn("oltp", ["project", "oltp"], env),
            "olap": spawn("olap", ["project", "olap"], env),
        }
        # Everything runs (topics made, groups joined, tables created) before the first crash.
        wait_until("the first events in the read model", lambda: oltp_caught_up(container, pg), 90)
        olap_group = projector_group(topic_prefix, "olap")
        wait_until(
            "the warehouse projector caught up",
            lambda: group_lag(kafka_bootstrap, olap_group, event_topics(topic_prefix)) == 0,
            60,
        )
        backlog = Backlog(container, kafka_bootstrap, topic_prefix)
        warmed_up = time.monotonic()

        loader = Loader(loads, pause=0.01).start()
        crash_phase = time.monotonic()
        names = list(processes)
        # Each process dies at an age drawn for it when it starts: a quarter of the time
        # while it is still starting (imports, connections, group join, DuckDB's WAL replay:
        # about 2-4 s here), else once it works. Caught up, a process idles most of the time
        # (the load is far below what it can do), so 40% of the kills first freeze it
        # (SIGSTOP) for a moment while the load piles up work for it, then let it go and kill
        # it a fraction of a second later: while it reads, publishes or projects that pile.
        # A third of the relay's are aimed at its narrowest window instead: killed the moment
        # Kafka grows after such a freeze, after it published and before it records how far.
        due = {name: processes[name].started_at + kill_age(rng) for name in names}
        while len(kills) < KILLS:
            name = min(due, key=lambda n: due[n])
            time.sleep(max(due[name] - time.monotonic(), 0))
            loader.check()
            all_alive(processes.values())
            # Now and then a second process dies with it.
            victims = [name, rng.choice([n for n in names if n != name])] if rng.random() < 0.15 else [name]
            how = "plain"
            if victims == ["relay"] and rng.random() < 0.33:
                how = "aimed"
                processes["relay"].stop_signal(signal.SIGSTOP)
                time.sleep(rng.uniform(0.5, 2.0))
                published = backlog.on_kafka()
                processes["relay"].stop_signal(signal.SIGCONT)
                give_up = time.monotonic() + 5.0
                while backlog.on_kafka() == published and time.monotonic() < give_up:
                    pass
            elif rng.random() < 0.4:
                how = "frozen"
                for victim in victims:
                    processes[victim].stop_signal(signal.SIGSTOP)
                time.sleep(rng.uniform(0.5, 2.0))
                for victim in victims:
                    processes[victim].stop_signal(signal.SIGCONT)
                # Mostly within the ~0.1 s it takes to publish or project such a pile.
                time.sleep(min(rng.expovariate(10.0), 0.5))
            for victim in victims:
                process = processes[victim]
                age = time.monotonic() - process.started_at
                process.kill()
                processes[victim] = spawn(victim, process.args, env)
                due[victim] = processes[victim].started_at + kill_age(rng)
                kills.append(Kill(time.monotonic() - crash_phase, victim, age, how, backlog.of(victim)))
        # A last stretch of load with no crash, so that every partition moves on and each
        # projector commits its offsets to Kafka past what it wrote before its last crash.
        time.sleep(2.0)
        loader.stop()
        for pipeline in pipelines:
            execute(SetStageProbability(pipeline, "qualify", 0.25))
        load_over = time.monotonic()

        wait_until("the relay published everything", lambda: backlog.of("relay") == 0, CATCH_UP_LIMIT)
        wait_until("the operational read model caught up", lambda: oltp_caught_up(container, pg), 60)
        wait_until("the warehouse projector caught up", lambda: backlog.of("olap") == 0, 60)
        caught_up = time.monotonic() - load_over
        all_alive(processes.values())

        stopped = {name: processes[name].terminate(STOP_LIMIT) for name in ("olap", "oltp", "relay")}
        assert all(p.proc.returncode == 0 for p in processes.values()), [p.log() for p in processes.values()]

        events = store_events(container)
        on_kafka = kafka_records(kafka_bootstrap, event_topics(topic_prefix))
        check_created_once(events, loads, pipelines)
        repeats = check_kafka(events, on_kafka, topic_prefix)
        check_oltp(events, pg)
        check_warehouse(events, olap_path)
        assert topic_records(kafka_bootstrap, f"{topic_prefix}.deadletter") == 0, "something was dead-lettered"
        checked = time.monotonic()
        check_rebuilds_equal("oltp", lambda: oltp_rows(pg), env)
        check_rebuilds_equal("olap", lambda: olap_rows(olap_path), env)
        rebuilt = time.monotonic()

        by_name = Counter(k.name for k in kills)
        busy = Counter(k.name for k in kills if k.backlog > 0)
        kinds = Counter(k.how for k in kills)
        print(
            f"\n{len(kills)} SIGKILLs in {kills[-1].at:.1f}s ({', '.join(f'{n} {by_name[n]}' for n in names)}); "
            f"{kinds['frozen']} after a freeze, {kinds['aimed']} aimed at the relay's window; "
            f"with work pending at the kill: {', '.join(f'{n} {busy[n]}' for n in names)}; "
            f"{loader.accepted} commands accepted ({loader.refused} refused by rules), {len(events)} events, "
            f"{repeats} repeats on Kafka; caught up {caught_up:.1f}s after the load; "
            f"stopped after SIGTERM in {', '.join(f'{k} {v:.1f}s' for k, v in stopped.items())}\n"
            f"kills (s into the phase, process, its age, how, backlog): "
            + ", ".join(f"{k.at:.1f} {k.name} {k.age:.1f}s {k.how} {k.backlog}" for k in kills)
            + f"\ntimes: warm-up {warmed_up - started:.1f}s, crashes {load_over - crash_phase:.1f}s, "
            f"checks {checked - load_over:.1f}s, rebuilds {rebuilt - checked:.1f}s"
        )
        # Last, as the operator runs it: the hash chains of the store and of every topic.
        # (check_kafka above already found every repeat on Kafka to be a redelivery: the same
        # event, at or below the aggregate's highest version so far, never a skip.)
        verified = subprocess.run(
            [CRM, "audit", "verify", "--kafka"], env=env, capture_output=True, text=True, timeout=120
        )
        assert verified.returncode == 0, (
            f"`crm audit verify --kafka` is not clean after {repeats} at-least-once repeats on Kafka "
            f"(seed {SEED}):\n{verified.stdout[-3000:]}\n{verified.stderr[-2000:]}"
        )
        print(verified.stdout.strip().splitlines()[-1])
    finally:
        if backlog is not None:
            backlog.close()
        container.close()


def oltp_caught_up(container: Container, rows: Callable[[str], list[tuple[Any, ...]]]) -> bool:
    """Every aggregate the operational model keeps at the store's last version of it."""
    try:
        held = {str(i): v for table in OLTP_AGGREGATES for i, v in rows(f"SELECT id, version FROM {table}")}
    except (psycopg.errors.UndefinedTable, sqlite3.OperationalError):
        return False  # not made yet
    events = store_events(container)
    return held == {s: v for t in OLTP_AGGREGATES.values() for s, v in last_versions(events, t).items()}


# --------------------------------------------------------------------------- embedded


class HttpCommands:
    """Commands as a client of `crm serve` sends them: each request with an Idempotency-Key,
    sent again with the same key until the server answers (it may be dead or restarting).
    A 409 or 422 is a rule's refusal (DomainError, as in process)."""

    def __init__(self, base: str, deadline: float) -> None:
        self.base = base
        self.deadline = deadline
        self.client = httpx.Client(timeout=10.0)
        self.resent = 0  # requests that got no answer (the server died) and were sent again
        self.replayed = 0  # of those, answered from the idempotency record: done before the crash

    def __call__(self, command: object) -> Any:
        method, path, body = http_request(command)
        key = str(uuid.uuid4())
        unanswered = False
        while True:
            assert time.monotonic() < self.deadline, f"{method} {path}: no answer before the deadline"
            try:
                r = self.client.request(
                    method, self.base + path, json=body, headers={"Idempotency-Key": key, "X-Actor": "faults"}
                )
            except httpx.TransportError:
                unanswered = True
                time.sleep(0.1)
                continue
            if r.status_code == 503:
                time.sleep(0.2)
                continue
            if r.status_code in (409, 422):
                raise DomainError(r.text)
            assert r.status_code in (200, 201), f"{method} {path} {body}: {r.status_code} {r.text}"
            self.resent += unanswered
            self.replayed += r.headers.get("Idempotent-Replayed") == "true"
            return Accepted(UUID(r.json()["id"]))

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class Accepted:
    id: UUID


def http_request(c: object) -> tuple[str, str, dict[str, Any]]:
    """The route and body of a command (docs: /openapi.json)."""
    match c:
        case CreatePipeline():
            stages = [{"key": s.key, "name": s.name, "probability": s.probability} for s in c.stages]
            return "POST", "/v1/pipelines", {"name": c.name, "stages": stages}
        case SetStageProbability():
            return "PUT", f"/v1/pipelines/{c.pipeline_id}/stages/{c.key}/probability", {"probability": c.probability}
        case CreateContact():
            return "POST", "/v1/contacts", {"name": c.name, "owner": c.owner}
        case RecordInteraction():
            return "POST", f"/v1/contacts/{c.contact_id}/interactions", {"type": c.interaction_type}
        case ChangeLifecycleStage():
            return "POST", f"/v1/contacts/{c.contact_id}/lifecycle", {"stage": c.stage}
        case ChangeContactDetails():
            return "PATCH", f"/v1/contacts/{c.contact_id}", dict(c.changes)
        case CreateDeal():
            body = {"pipeline_id": str(c.pipeline_id), "title": c.title, "contact_id": str(c.contact_id)}
            return "POST", "/v1/deals", {**body, "amount": str(c.amount)}
        case MoveDeal():
            return "POST", f"/v1/deals/{c.deal_id}/stage", {"stage": c.stage}
        case WinDeal():
            return "POST", f"/v1/deals/{c.deal_id}/win", {"amount": str(c.amount), "closed_on": str(c.closed_on)}
        case LoseDeal():
            return "POST", f"/v1/deals/{c.deal_id}/lose", {"reason": c.reason}
        case ReopenDeal():
            return "POST", f"/v1/deals/{c.deal_id}/reopen", {}
        case OpenCase():
            return "POST", "/v1/cases", {"contact_id": str(c.contact_id), "subject": c.subject, "priority": c.priority}
        case AssignCase():
            return "POST", f"/v1/cases/{c.case_id}/assign", {"agent": c.agent}
        case RespondToCase():
            return "POST", f"/v1/cases/{c.case_id}/respond", {"agent": c.agent}
        case ResolveCase():
            return "POST", f"/v1/cases/{c.case_id}/resolve", {"resolution": c.resolution}
    raise AssertionError(f"no route for {c!r}")


def answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def test_a_sigkilled_embedded_server_loses_nothing_and_its_read_models_catch_up(tmp_path: Path, spawn: Spawn) -> None:
    """`crm serve` with no server: SQLite event store and read model, DuckDB, the projectors
    and automations as threads of the one process, killed while clients post commands."""
    print(f"\nseed {SEED} (CRM_CRASH_SEED={SEED} replays this schedule)")
    rng = random.Random(SEED + 1)
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    base = f"http://127.0.0.1:{free_port()}"
    args = ["serve", "--port", base.rsplit(":", 1)[1]]
    http = HttpCommands(base, deadline=time.monotonic() + 120)
    container = Container(Settings(data_dir=data))
    started = time.monotonic()
    ages: list[float] = []
    try:
        server = spawn("serve", args, env)
        wait_until("crm serve answering", lambda: answers(base), 60, every=0.1)
        pipelines = [http(CreatePipeline(f"Pipeline {i}", STAGES)).id for i in range(2)]
        loads = [Load(http, random.Random(rng.random()), pipelines, http=True) for _ in range(2)]
        loader = Loader(loads, pause=0.02).start()
        for _ in range(SERVE_KILLS):
            # Killed between moments after it answers and a few seconds of load later.
            time.sleep(rng.uniform(0.1, 3.0))
            loader.check()
            all_alive([server])
            ages.append(time.monotonic() - server.started_at)
            server.kill()
            server = spawn("serve", args, env)
            wait_until("crm serve answering again", lambda: answers(base), 60, every=0.1)
        time.sleep(1.0)
        loader.stop()
        load_over = time.monotonic()

        # The read models catch up (the warehouse can only be read once the server let go of
        # it: stopped, checked, and started again while it still lacks something).
        sqlite = sqlite_rows(data / "read.sqlite")
        wait_until("the operational read model caught up", lambda: oltp_caught_up(container, sqlite), 60)
        for attempt in range(5):
            server.terminate(STOP_LIMIT)
            assert server.proc.returncode in (0, -15), server.log()
            events = store_events(container)
            with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as conn:
                held = conn.execute("SELECT count(*) FROM events").fetchone()
            if held == (len(events),) or attempt == 4:
                break
            server = spawn("serve", args, env)
            wait_until("crm serve answering again", lambda: answers(base), 60, every=0.1)
            time.sleep(1.0)
        caught_up = time.monotonic() - load_over

        check_created_once(events, loads, pipelines)
        check_oltp(events, sqlite)
        check_warehouse(events, data / "analytics.duckdb")
        print(run_crm(["audit", "verify"], env).strip().splitlines()[-1])
    finally:
        http.close()
        container.close()
    print(
        f"{len(ages)} SIGKILLs of crm serve (at ages {', '.join(f'{a:.1f}s' for a in ages)}) under "
        f"{loader.accepted} commands over HTTP ({loader.refused} refused by rules; {http.resent} requests "
        f"sent again after a crash, {http.replayed} of them answered from their idempotency record), "
        f"{len(events)} events; caught up {caught_up:.1f}s after the load ({attempt + 1} stop(s) to read the "
        f"warehouse); {time.monotonic() - started:.1f}s in all"
    )
