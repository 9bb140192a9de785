"""Outages under load, on the production path: the relay and both projectors run as
processes of the installed `crm`, as an operator runs them, while commands keep coming.

- Kafka (a private broker) crashes for ~20 s: commands keep being accepted (they only need
  the event store); afterwards every one of them is on Kafka and in both read models, and
  no process exited.
- PostgreSQL (a private cluster: event store and operational read model) stops for ~15 s
  while clients POST through `crm serve --api-only`: every request answers 201 or 503
  problem+json with Retry-After within its deadline, /readyz names the event store while
  it is down; retrying the refused requests with their Idempotency-Key records each contact
  once, and every contact reaches Kafka and both read models; no process exited.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx

from commands.contact import CreateContact, RecordInteraction
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from streams import topics
from tests.faults.processes import (
    Spawn,
    all_alive,
    crm_env,
    event_topics,
    group_lag,
    kafka_events,
    missing_from_kafka,
    oltp_versions,
    projector_group,
    wait_until,
    warehouse_contacts,
)
from tests.faults.servers import Outage, PrivateKafka, PrivatePostgres, free_port

META = Meta(actor="faults", correlation_id="outage", causation_id="outage")
#: How long a process may take to stop after SIGTERM (its watchdog ends it after 12 s).
STOP_LIMIT = 15.0
#: No request may take longer (the group commit's own deadline is 30 s).
REQUEST_DEADLINE = 35.0
#: How long the pipeline may take to hold everything once the server is back.
CATCH_UP_LIMIT = 120.0


def pipeline(spawn: Spawn, env: dict[str, str]) -> dict:
    """The relay and both projectors, each a process of its own."""
    return {
        "relay": spawn("relay", ["relay"], env),
        "oltp": spawn("oltp", ["project", "oltp"], env),
        "olap": spawn("olap", ["project", "olap"], env),
    }


def retries_logged(processes: dict) -> str:
    """How often each process's supervisor rebuilt its worker (for the test's report)."""
    return ", ".join(
        f"{name} {p.log_count('retrying in') + p.log_count('restarting in')}" for name, p in processes.items()
    )


# --------------------------------------------------------------------------- Kafka


def test_a_kafka_outage_under_load_loses_nothing_and_stops_no_process(
    tmp_path: Path, postgres_dsn: str, private_kafka: PrivateKafka, topic_prefix: str, spawn: Spawn
) -> None:
    bootstrap = private_kafka.bootstrap
    olap_path = tmp_path / "analytics.duckdb"
    env = crm_env(
        data_dir=tmp_path / "data",
        event_store=postgres_dsn,
        oltp_dsn=postgres_dsn,
        kafka_bootstrap=bootstrap,
        topic_prefix=topic_prefix,
        olap_path=olap_path,
    )
    # The test's own commands go straight to the event store, as an API process's would.
    container = Container(Settings(data_dir=tmp_path / "client", event_store=postgres_dsn))
    try:
        expected: dict[str, int] = {}
        rng = random.Random(8)

        def command(n: int) -> None:
            if expected and n % 3 == 2:
                contact = rng.choice(list(expected))
                when = datetime.now(UTC)
                result = container.commands.execute(RecordInteraction(UUID(contact), "page_visited", when), META)
            else:
                result = container.commands.execute(CreateContact(name=f"Person {n}"), META)
            expected[str(result.id)] = result.version

        processes = pipeline(spawn, env)
        command(0)
        # Everything runs (topics made, groups joined) before the broker goes.
        wait_until("the first contact in the read model", lambda: oltp_versions(postgres_dsn) == expected, 90)
        olap_group = projector_group(topic_prefix, "olap")
        wait_until(
            "the warehouse projector caught up",
            lambda: group_lag(bootstrap, olap_group, event_topics(topic_prefix)) == 0,
            60,
        )

        n = 1
        load_until = give_up = time.monotonic() + 120.0
        # Load for 3 s, the broker crashes for 15 s (and takes seconds to start), load for 3 s more.
        with Outage(private_kafka, seconds=15, after=3.0, kill=True) as outage:
            while not outage.over or time.monotonic() < load_until:
                assert outage.error is None and time.monotonic() < give_up, f"the outage failed: {outage.error!r}"
                command(n)
                n += 1
                all_alive(processes.values())
                if outage.down_at is not None and not outage.over:
                    load_until = time.monotonic() + 3.0  # and a few seconds more once it is back
                time.sleep(0.04)
        assert outage.up_at is not None and outage.downtime is not None
        commands = n
        all_alive(processes.values())

        # Both read models and Kafka catch up by themselves, within a bounded time.
        wait_until(
            "every contact in the operational read model",
            lambda: oltp_versions(postgres_dsn) == expected,
            CATCH_UP_LIMIT,
        )
        oltp_caught_up = time.monotonic() - outage.up_at
        wait_until(
            "the warehouse projector caught up",
            lambda: group_lag(bootstrap, olap_group, event_topics(topic_prefix)) == 0,
            CATCH_UP_LIMIT,
        )
        olap_caught_up = time.monotonic() - outage.up_at
        on_kafka = kafka_events(bootstrap, [topics.topic_for("contact", topic_prefix)])
        assert missing_from_kafka(expected, on_kafka) == []
        all_alive(processes.values())
        retries = retries_logged(processes)

        stop_seconds = {"olap": processes["olap"].terminate(STOP_LIMIT)}
        warehouse = warehouse_contacts(olap_path)
        assert warehouse == {c: (v, v) for c, v in expected.items()}
        for name in ("relay", "oltp"):
            stop_seconds[name] = processes[name].terminate(STOP_LIMIT)
        assert all(p.proc.returncode == 0 for p in processes.values()), [p.log() for p in processes.values()]
    finally:
        container.close()

    print(
        f"\nKafka outage: broker down {outage.downtime:.1f}s (SIGKILL, then start) under {commands} commands "
        f"({len(expected)} contacts, {sum(expected.values())} events, {sum(on_kafka.values()) - len(on_kafka)} "
        f"repeats on Kafka); caught up {oltp_caught_up:.1f}s (operational) and {olap_caught_up:.1f}s (warehouse) "
        f"after the broker answered; worker rebuilds: {retries}; stopped after SIGTERM in "
        + ", ".join(f"{k} {v:.1f}s" for k, v in stop_seconds.items())
    )


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Answer:
    key: str
    body: dict
    sent_at: float
    seconds: float
    status: int | None  # None: no answer (a transport error or the client's timeout)
    json: dict | None
    headers: httpx.Headers | None
    error: str = ""


def post_contact(client: httpx.Client, base: str, key: str, body: dict) -> Answer:
    sent = time.monotonic()
    try:
        r = client.post(f"{base}/v1/contacts", json=body, headers={"Idempotency-Key": key, "X-Actor": "faults"})
    except httpx.HTTPError as exc:
        return Answer(key, body, sent, time.monotonic() - sent, None, None, None, repr(exc))
    try:
        payload = r.json()
    except ValueError:
        payload = None
    return Answer(key, body, sent, time.monotonic() - sent, r.status_code, payload, r.headers, r.text[:300])


def ready(base: str) -> bool:
    r = httpx.get(f"{base}/readyz", timeout=10)
    if r.status_code != 200:
        raise AssertionError(f"/readyz {r.status_code}: {r.text}")
    return True


def describe(answer: Answer) -> str:
    return f"{answer.status} after {answer.seconds:.1f}s: {answer.error or answer.json}"


def test_a_postgres_outage_under_load_answers_503_and_loses_nothing(
    tmp_path: Path, private_postgres: PrivatePostgres, kafka_bootstrap: str, topic_prefix: str, spawn: Spawn
) -> None:
    dsn = private_postgres.dsn
    olap_path = tmp_path / "analytics.duckdb"
    env = crm_env(
        data_dir=tmp_path / "data",
        event_store=dsn,
        oltp_dsn=dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        olap_path=olap_path,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = spawn("api", ["serve", "--api-only", "--insecure", "--port", str(port)], env)
    processes = {"api": api, **pipeline(spawn, env)}
    wait_until("the API ready", lambda: ready(base), 90)

    answers: list[Answer] = []
    readiness: list[tuple[float, float, int | None, dict | None]] = []  # (sent, answered, status, body)
    stop_load = threading.Event()
    stop_probe = threading.Event()

    def client_loop(worker: int) -> None:
        with httpx.Client(timeout=REQUEST_DEADLINE) as client:
            n = 0
            while not stop_load.is_set():
                key = str(uuid.uuid4())
                answers.append(post_contact(client, base, key, {"name": f"Person {worker}-{n}"}))
                n += 1
                time.sleep(0.05)

    def probe_loop() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop_probe.is_set():
                sent = time.monotonic()
                try:
                    r = client.get(f"{base}/readyz")
                    readiness.append((sent, time.monotonic(), r.status_code, r.json()))
                except (httpx.HTTPError, ValueError):
                    readiness.append((sent, time.monotonic(), None, None))
                stop_probe.wait(0.5)

    clients = [threading.Thread(target=client_loop, args=(i,), name=f"client-{i}") for i in range(3)]
    probe = threading.Thread(target=probe_loop, name="readyz")
    for t in [*clients, probe]:
        t.start()
    try:
        time.sleep(3.0)
        with Outage(private_postgres, seconds=15) as outage:
            outage.wait_down(timeout=60)
            give_up = time.monotonic() + 120.0
            while not outage.over and time.monotonic() < give_up:
                all_alive(processes.values())
                time.sleep(0.5)
            outage.wait_up(timeout=120)
        assert outage.down_at is not None and outage.up_at is not None
        wait_until("/readyz answers 200 again", lambda: ready(base), 30)
        ready_again = time.monotonic() - outage.up_at
        time.sleep(5.0)  # load goes on after the store is back
    finally:
        stop_load.set()
        stop_probe.set()
        for t in [*clients, probe]:
            t.join(REQUEST_DEADLINE + 10)
    assert not any(t.is_alive() for t in [*clients, probe]), "a client thread is still waiting"
    all_alive(processes.values())

    # Every request answered within its deadline: 201, or 503 problem+json with Retry-After.
    latencies = [a.seconds for a in answers]
    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds < REQUEST_DEADLINE, describe(slowest)
    unanswered = [describe(a) for a in answers if a.status is None]
    assert unanswered == [], unanswered[:5]
    odd = [describe(a) for a in answers if a.status not in (201, 503)]
    assert odd == [], odd[:5]
    refused = [a for a in answers if a.status == 503]
    assert refused, "no request noticed the outage"
    for a in refused:
        assert a.headers is not None and a.headers["content-type"] == "application/problem+json", describe(a)
        assert int(a.headers["retry-after"]) > 0, describe(a)
        assert a.json is not None and a.json["code"] == "store_unavailable" and a.json["status"] == 503, describe(a)
    # Down for sure: from just after the stop until the start begins (the start itself takes
    # seconds, and the server accepts connections before it returns).
    down_from, down_until = outage.down_at + 0.5, outage.down_at + outage.seconds
    during = [a for a in answers if down_from <= a.sent_at and a.sent_at + a.seconds <= down_until]
    assert during and all(a.status == 503 for a in during), [describe(a) for a in during if a.status != 503][:5]

    # /readyz named the event store while it was down, and said ready once it was back.
    down_probes = [r for r in readiness if down_from <= r[0] and r[1] <= down_until]
    assert down_probes, "/readyz was not asked during the outage"
    for _, _, status, body in down_probes:
        assert status == 503 and body is not None, (status, body)
        assert body["checks"]["event_store"] != "ok", body
    assert readiness[-1][2] == 200, readiness[-1]

    # Retrying every refused request with its key records it once (or answers the first record).
    retries_from = time.monotonic()
    replayed = 0
    ids = {a.key: a.json["id"] for a in answers if a.status == 201 and a.json is not None}
    with httpx.Client(timeout=REQUEST_DEADLINE) as client:
        for a in refused:
            again = wait_until(
                f"a retry of {a.key} accepted",
                lambda a=a: r if (r := post_contact(client, base, a.key, a.body)).status == 201 else None,
                60,
                every=0.5,
            )
            assert again.json is not None and again.seconds < REQUEST_DEADLINE
            ids[a.key] = again.json["id"]
            replayed += again.headers is not None and again.headers.get("idempotent-replayed") == "true"
    assert len(ids) == len(answers) and len(set(ids.values())) == len(ids)
    expected = {i: 1 for i in ids.values()}
    retried_at = time.monotonic()  # the last command accepted

    # Each contact is in the event store once, ...
    container = Container(Settings(data_dir=tmp_path / "client", event_store=dsn))
    try:
        created = [
            str(n.originator_id)
            for n in container.store.recorder.select_notifications(start=None, limit=1_000_000)
            if n.originator_version == 1 and n.topic.startswith("crm.contact.")
        ]
    finally:
        container.close()
    assert sorted(created) == sorted(expected)

    # ... in the operational read model (through the API too), on Kafka, and in the warehouse.
    wait_until("every contact in the operational read model", lambda: oltp_versions(dsn) == expected, CATCH_UP_LIMIT)
    oltp_caught_up = time.monotonic() - retried_at
    with httpx.Client(timeout=10) as client:
        unreadable = [i for i in expected if client.get(f"{base}/v1/contacts/{i}").status_code != 200]
    assert unreadable == []
    on_kafka = kafka_events(kafka_bootstrap, [topics.topic_for("contact", topic_prefix)])
    assert missing_from_kafka(expected, on_kafka) == []
    olap_group = projector_group(topic_prefix, "olap")
    wait_until(
        "the warehouse projector caught up",
        lambda: group_lag(kafka_bootstrap, olap_group, event_topics(topic_prefix)) == 0,
        CATCH_UP_LIMIT,
    )
    olap_caught_up = time.monotonic() - retried_at
    all_alive(processes.values())
    retries = retries_logged(processes)

    stop_seconds = {"olap": processes["olap"].terminate(STOP_LIMIT)}
    assert warehouse_contacts(olap_path) == {i: (1, 1) for i in expected}
    for name in ("api", "relay", "oltp"):
        stop_seconds[name] = processes[name].terminate(STOP_LIMIT)
    assert all(p.proc.returncode in (0, -15) for p in processes.values()), [p.log() for p in processes.values()]

    print(
        f"\nPostgreSQL outage: down {outage.downtime:.1f}s (fast stop, then start) under {len(answers)} requests "
        f"from 3 clients: {len(answers) - len(refused)} answered 201, {len(refused)} 503; latency max "
        f"{slowest.seconds:.2f}s, median {statistics.median(latencies) * 1000:.0f} ms; /readyz 200 "
        f"{ready_again:.1f}s after the store was back; {len(refused)} retries accepted in "
        f"{retried_at - retries_from:.1f}s ({replayed} of them replays of a command recorded before its 503); "
        f"caught up {oltp_caught_up:.1f}s (operational) and {olap_caught_up:.1f}s (warehouse) after the last "
        f"retry; worker rebuilds: {retries}; stopped after SIGTERM "
        "in " + ", ".join(f"{k} {v:.1f}s" for k, v in stop_seconds.items())
    )
