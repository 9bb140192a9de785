"""Rebuild throughput: every event replayed into each read model (the operational one in
PostgreSQL, the warehouse in DuckDB) as `crm projections rebuild NAME --from store|kafka`
does, from a PostgreSQL event store and from Kafka, against the same projector code fed one
event per transaction (the baseline), in the same run.

The store holds real stored events: a year of CRM activity recorded through the command
layer (crm/story.py), copied under fresh aggregate ids until it holds ``--events`` events
(as bench/relay.py fills it); the relay publishes them to Kafka (3 partitions per topic).
Every rebuild runs in a process of its own, so that its peak resident memory is its own:

- *rebuild from the store / from Kafka*: ``crm.rebuilding.rebuild`` (replay into new
  tables in batches of ``--batch``, then the switch), for each read model;
- *batch of one (baseline)*: the same projector, source and writer, one event per
  transaction, over the first ``--baseline-events`` events of the store;
- *memory*: the rebuild from the store again once the store holds three times as many
  events: a rebuild streams, so its peak memory should not grow with the history (each
  process's own peak, and its resident memory at every tenth of the replay);
- *one process vs two*: the operational projector as one consumer-group member, then as
  two sharing the partitions, from Kafka (the warehouse's DuckDB file takes one writing
  process, so it has no such figure). Both members join before either projects, so the
  figure is the projecting, not the group's rebalance.

    python -m bench.rebuild [--events 1000000] [--baseline-events 2000] [--batch 5000] [--quick] [--dry-run]

``--quick``: 15,000 events (45,000 for the memory run), the same figures, in about two
minutes, leaving docs/BENCHMARKS.md alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
from eventsourcing.persistence import StoredEvent

from bench.common import scratch_database, write_section
from crm import story
from crm.rebuilding import rebuild
from crm.settings import Settings
from crm.wiring import Container
from projections.olap import events as olap_events
from projections.olap import rows as olap_rows
from projections.olap.writer import OlapWriter
from projections.oltp.projection import project as oltp_project
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner, Writer
from streams import kafka, topics
from streams.envelope import Envelope, from_domain_event
from streams.log import NotificationLogSource
from streams.opening import OpenedSource
from streams.outbox import NotificationLog
from streams.records import Record

KAFKA = os.environ.get("CRM_BENCH_KAFKA", "127.0.0.1:9092")
PARTITIONS = 3
MODELS = {"oltp": "PostgreSQL (operational)", "olap": "DuckDB (warehouse)"}
ORIGINS = {"store": "the event store", "kafka": "Kafka"}
AIM_RATE, AIM_RATIO = 100_000, 20
#: Why peak memory is read from /proc, and what the figures before that showed.
MEMORY = """Peak memory is each rebuild process's own high-water mark (`VmHWM`). Earlier runs
read `ru_maxrss`, which a process started by `subprocess` inherits from its parent
(Python starts it with vfork and exec, and the kernel keeps the larger of the two peaks): they
showed this benchmark's own peak, which grows as it copies stored events to fill the store, not
the rebuild's. Measured from outside (the resident memory of the rebuild process every 0.25 s)
the operational rebuild from the store stayed at 154 MB with 100,000 and with 300,000 events.
""".replace("\n", " ").strip()
#: How the store is read now, and what it cost before (the steps below measure both).
READING_NOTE = """**Reading the store** (`streams/log.py`, shared by rebuilds from the store, the relay, the audit
trail's log and embedded mode's projectors): one query per page of up to a batch of rows, read as
tuples in the binary protocol as the relay read them; each stored event's JSON decoded once (msgspec)
and its transcoded values (times, UUIDs, decimals, the metadata) made straight into the CloudEvent's
form, without eventsourcing's mapper and its round of `payload`'s JSON; the CloudEvent's bytes written
by msgspec where they come out identical to `json.dumps` (no float, ASCII without DEL), else by json.
An event whose stored version must be upcast, or that msgspec refuses, takes the mapper as before.
tests/integration/test_store_reading.py holds records, envelopes and the relay's bytes to the plain
path's, on SQLite and PostgreSQL. Measured by hand on 2026-11-30 over the first 20,000 events of a
store of this shape (machine shared, load average 2 to 5): making the CloudEvent 21 to 32 µs against
67 to 79 µs through the mapper; the page query itself 6 to 10 µs.
""".replace("\n", " ").strip()
#: Measured by hand: where the warehouse's rebuild memory goes.
WAREHOUSE_NOTE = """**The warehouse's memory, measured by hand on 2026-11-30**: tracemalloc over a rebuild of
100,000 events found Python's heap unchanged from a fifth of the replay to its end (+0.2 MB) while the
resident memory went from 240 to 266 MB: what grows is DuckDB's own memory (the warehouse's tables and
the events' unique index, in the scratch database and then, at the switch, copied into the live one),
not the events read; a `memory_limit` of 128 MB on the scratch database left the peak where it was
(421 against 429 MB, 300,000 events).
""".replace("\n", " ").strip()
#: Peak memory with three times the history, as a multiple of the first run's, still called flat.
FLAT = 1.25
#: Measured by hand, not by this benchmark: the decoders compared before one was chosen.
DECODERS = """**Decoders, measured by hand on 2026-11-30** (30,000 of these CloudEvents, 479 bytes each,
µs per event on this machine): `json.loads` 6.3, `orjson.loads` 1.35, `msgspec.json.decode` to
Python objects 1.45, msgspec typed into a `Struct` of the envelope's attributes 1.0. With the
checks and the `Envelope` made: the lenient decoder (`json.loads`) 11.3; `orjson.loads` with the
same checks 4.6; msgspec typed (chosen: `Envelope.from_json`, the lenient decoder kept for
whatever the typed one refuses, so both accept and refuse the same bytes) 2.6.
""".replace("\n", " ").strip()


# -- the store -----------------------------------------------------------------------------


def grow(container: Container, total: int, contacts: int) -> int:
    """A year of activity through the command layer (if the store is empty), then copies of
    its stored events under fresh aggregate ids until the store holds ``total``; answers
    how many it holds."""
    store = container.store
    recorder = store.recorder
    if not recorder.max_notification_id():
        story.record_year(container.commands.execute, contacts, seed=7)
    recorded = recorder.max_notification_id() or 0
    template = NotificationLog(store).after(0, min(recorded, 50_000))
    while recorded < total:
        fresh: dict[object, uuid.UUID] = {}
        copies = [
            StoredEvent(fresh.setdefault(e.originator_id, uuid.uuid4()), e.originator_version, e.topic, e.state)
            for e in template[: total - recorded]
        ]
        for start in range(0, len(copies), 5000):
            recorder.insert_events(copies[start : start + 5000])
        recorded += len(copies)
    return recorded


def publish(container: Container) -> None:
    relay = container.relay()
    while relay.publish_pending():
        pass


# -- the processes -------------------------------------------------------------------------


def environment(settings: Mapping[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update({f"CRM_{k.upper()}": str(v) for k, v in settings.items()})
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def child(env: Mapping[str, str], *args: str) -> dict[str, Any]:
    """Runs ``python -m bench.rebuild --child ARGS`` to the end; answers what it printed last (JSON)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.rebuild", "--child", *args], env=env, capture_output=True, text=True, timeout=7200
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.rebuild --child {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def peak_mb() -> float:
    """This process's peak resident memory. Not ``ru_maxrss``: a child started by
    ``subprocess`` (vfork, then exec) inherits its parent's peak in it."""
    return _status_mb("VmHWM")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} in /proc/self/status")


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread (DuckDB's, kafka-python's) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_rebuild(model: str, origin: str) -> dict[str, Any]:
    """The rebuild as the command line runs it; its resident memory read at every tenth of the replay."""
    samples: list[float] = []

    def progress(done: int, expected: int) -> None:
        if done * 10 >= (len(samples) + 1) * expected:
            samples.append(rss_mb())

    with Container(Settings()) as container:
        cpu = cpu_seconds()
        report = rebuild(container, model, origin, progress)
        cpu = cpu_seconds() - cpu
    return {
        "events": report.events,
        "seconds": report.seconds,
        "cpu": cpu,
        "peak_mb": peak_mb(),
        "rss_mb": samples,
    }


def run_batch_of_one(model: str, count: int, scratch: str) -> dict[str, Any]:
    """The projector with one event per transaction, over the first ``count`` events of the store."""
    with Container(Settings()) as container:
        writer: Writer
        if model == "oltp":
            writer = OltpWriter(container.oltp, suffix="__one")
        else:
            writer = OlapWriter(duckdb.connect(scratch))
        source = container.opened_for(model, NotificationLogSource(container.store))
        runner = ProjectorRunner(writer, source, batch_size=1, dead_letters=container.dead_letters)
        started, cpu = time.perf_counter(), cpu_seconds()
        while runner.processed < count and runner.run_once(timeout=0):
            pass
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        runner.close()
    return {"events": runner.processed, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb()}


def run_member(group: str, suffix: str, gate: str) -> dict[str, Any]:
    """One member of the operational projector's consumer group ``group``, into the tables
    named with ``suffix``: joins at once, projects once the file ``gate`` exists."""
    with Container(Settings()) as container:
        settings = container.settings
        source = container.opened_for(
            "oltp",
            kafka.KafkaSource(
                container.kafka_clients,
                group_id=group,
                topics=topics.all_topics(settings.kafka_topic_prefix),
                instance_id=f"{group}-{os.getpid()}",
            ),
        )
        writer = OltpWriter(container.oltp, suffix=suffix)
        with closing(ProjectorRunner(writer, source, settings.batch_size, container.dead_letters)) as runner:
            source.start(writer.positions)
            while not Path(gate).exists():
                source.poll(100, 0.1)  # joining; what arrives is read again from the stored positions
            cpu = cpu_seconds()
            done = runner.run_until_idle(timeout=0.5, deadline=7200)
            finished, cpu = time.time(), cpu_seconds() - cpu
    return {"events": done, "finished": finished, "cpu": cpu, "peak_mb": peak_mb()}


def members(env: Mapping[str, str], count: int, suffix: str, tmp: Path) -> tuple[int, float, float]:
    """``count`` members of a fresh group; answers (events projected, seconds from the gate
    opening to the last member caught up, CPU seconds of the members meanwhile)."""
    group, gate = f"{env['CRM_KAFKA_TOPIC_PREFIX']}.bench.{suffix}", tmp / f"gate{suffix}"
    args = [sys.executable, "-m", "bench.rebuild", "--child", "member", group, suffix, str(gate)]
    # Output to files: a pipe nobody reads until the end fills with the Kafka client's
    # warnings and stops the member.
    logs = [(tmp / f"member{suffix}{i}.out", tmp / f"member{suffix}{i}.err") for i in range(count)]
    started = [
        subprocess.Popen(args, env=env, stdout=out.open("w"), stderr=err.open("w"), text=True) for out, err in logs
    ]
    admin = kafka.KafkaClients((KAFKA,)).admin()
    try:
        give_up = time.monotonic() + 180
        while True:
            described = admin.describe_groups([group])[group]
            state, joined = described["group_state"], len(described["members"])
            if state == "Stable" and joined == count:
                break
            for p in started:
                if p.poll() is not None:
                    raise RuntimeError(f"a projector member ended before projecting:\n{tail(logs, started)}")
            if time.monotonic() > give_up:
                raise TimeoutError(f"{count} members never settled in {group} (last seen: {state}, {joined} members)")
            time.sleep(0.2)
        time.sleep(1)  # every member has its assignment from the settled group
        opened = time.time()
        gate.touch()
        for p in started:
            p.wait(timeout=7200)
    finally:
        admin.close()
        for p in started:
            p.kill()
    if any(p.returncode != 0 for p in started):
        raise RuntimeError(f"a projector member failed:\n{tail(logs, started)}")
    answers = [json.loads(out.read_text().strip().splitlines()[-1]) for out, _ in logs]
    return (
        sum(a["events"] for a in answers),
        max(a["finished"] for a in answers) - opened,
        sum(a["cpu"] for a in answers),
    )


def tail(logs: list[tuple[Path, Path]], started: list[subprocess.Popen[str]]) -> str:
    return "\n".join(
        f"exit {p.returncode}: {err.read_text()[-3000:]}" for (_, err), p in zip(logs, started, strict=True)
    )


def child_main(args: list[str]) -> None:
    kind = args[0]
    if kind == "rebuild":
        answer = run_rebuild(args[1], args[2])
    elif kind == "one":
        answer = run_batch_of_one(args[1], int(args[2]), args[3])
    else:
        answer = run_member(args[1], args[2], args[3])
    print(json.dumps(answer), flush=True)


# -- the run -------------------------------------------------------------------------------


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--baseline-events", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--contacts", type=int, default=300, help="contacts of the recorded year (the template)")
    parser.add_argument("--quick", action="store_true", help="15,000 events, the same figures; docs left alone")
    parser.add_argument("--dry-run", action="store_true", help="print the table, leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    if args.quick:
        args.events, args.baseline_events, args.contacts = 15_000, 300, 30
    began = time.perf_counter()

    with scratch_database() as dsn, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        prefix = f"crmbenchrebuild{uuid.uuid4().hex[:6]}"
        settings = {
            "data_dir": tmp / "data",
            "event_store": dsn,
            "oltp_dsn": dsn,
            "kafka_bootstrap": KAFKA,
            "kafka_topic_prefix": prefix,
            "kafka_partitions": PARTITIONS,
            "olap_path": tmp / "analytics.duckdb",
            "batch_size": args.batch,
        }
        env = environment(settings)
        try:
            with Container(Settings(**settings)) as container:  # type: ignore[arg-type]
                events = grow(container, args.events, args.contacts)
                publish(container)
            print(f"{events:,} events in the store and on Kafka ({time.perf_counter() - began:.0f} s)", flush=True)

            results: dict[tuple[str, str], dict[str, Any]] = {}
            for model in MODELS:
                count = args.baseline_events if model == "oltp" else max(args.baseline_events // 4, 100)
                results[(model, "one")] = child(env, "one", model, str(count), str(tmp / "one.duckdb"))
                for origin in ORIGINS:
                    results[(model, origin)] = child(env, "rebuild", model, origin)
                for key in ((model, "one"), *((model, o) for o in ORIGINS)):
                    r = results[key]
                    print(
                        f"{key[0]} {key[1]}: {r['events'] / r['seconds']:,.0f} events/s, {r['peak_mb']:.0f} MB",
                        flush=True,
                    )

            scaling = {}
            for count, suffix in ((1, "__one_process"), (2, "__two_processes")):
                done, seconds, cpu = members(env, count, suffix, tmp)
                scaling[count] = (done, seconds, cpu)
                print(f"oltp from Kafka, {count} process(es): {done / seconds:,.0f} events/s", flush=True)

            with Container(Settings(**settings)) as container:  # type: ignore[arg-type]
                grown = grow(container, 3 * events, args.contacts)
            bigger = {model: child(env, "rebuild", model, "store") for model in MODELS}
            for model, r in bigger.items():
                rate = r["events"] / r["seconds"]
                print(f"{model} store, {grown:,} events: {rate:,.0f} events/s, {r['peak_mb']:.0f} MB", flush=True)
            spent = steps(settings, min(events, 20_000))
            print("step by step: " + ", ".join(f"{k} {v:.1f} µs" for k, v in spent.items()), flush=True)
        finally:
            drop_topics(prefix)
        # Before the scratch database goes: its removal may fail on a superuser's session
        # (autovacuum), which must not cost the figures.
        report(args, events, grown, results, scaling, bigger, spent, time.perf_counter() - began)


READING = "reading the store (query, one decoding, envelope, JSON: streams/log.py)"
READING_BEFORE = "reading the store (select_notifications, eventsourcing's mapper, envelope, JSON; before)"
DECODING = "decoding a CloudEvent, msgspec (now)"
OPENING = "opening personal fields (oltp)"
PROJECTING_OLTP = "projecting, oltp (rows of every table)"
PROJECTING_OLAP = "projecting, olap (events row and changes)"


def steps(settings: Mapping[str, Any], count: int) -> dict[str, float]:
    """Where a rebuild's time goes, step by step over the first ``count`` events of the
    store, in this process: µs of CPU per event."""
    out: dict[str, float] = {}

    def each(name: str, work: Callable[[Any], object], items: list[Any]) -> None:
        started = time.process_time()
        for item in items:
            work(item)
        out[name] = (time.process_time() - started) / len(items) * 1e6

    with Container(Settings(**settings)) as container:  # type: ignore[arg-type]
        store, done, after = container.store, 0, None
        started = time.process_time()
        # As the in-process stream read the log before streams/log.py read it itself.
        while done < count and (
            found := store.recorder.select_notifications(after, min(5000, count - done), inclusive_of_start=False)
        ):
            for n in found:
                event, chain = store.read_sealed(n)
                envelope = from_domain_event(event, n.id, chain)
                Record("log", 0, n.id, envelope.subject.encode(), envelope.to_json(), envelope)
            done, after = done + len(found), found[-1].id
        out[READING_BEFORE] = (time.process_time() - started) / done * 1e6
        source = NotificationLogSource(store)
        source.start(dict)
        records: list[Record] = []
        started = time.process_time()
        while len(records) < count and (page := source.poll(min(5000, count - len(records)), 0)):
            records += page
        out[READING] = (time.process_time() - started) / len(records) * 1e6
        values = [r.value for r in records]
        each("decoding a CloudEvent, json.loads and checks (before)", Envelope._from_json_leniently, values)
        each(DECODING, Envelope.from_json, values)
        sealed = [Envelope.from_json(v) for v in values]
        opened_source = OpenedSource(source, container.store.sealer.open_all)
        bare = [Record(r.source, r.partition, r.offset, r.key, r.value) for r in records]
        each(OPENING, opened_source._opened, bare)
        opened = [opened_source._opened(r).decoded() for r in bare]
        each(PROJECTING_OLTP, oltp_project, opened)
        each(PROJECTING_OLAP, lambda e: (olap_events.row(e), olap_rows.project(e)), sealed)
    return out


def drop_topics(prefix: str) -> None:
    admin = kafka.KafkaClients((KAFKA,)).admin()
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"{prefix}.")])
    except Exception as exc:  # tidiness only
        print(f"could not delete the benchmark's topics: {exc}", file=sys.stderr)
    finally:
        admin.close()


def report(
    args: argparse.Namespace,
    events: int,
    grown: int,
    results: Mapping[tuple[str, str], Mapping[str, Any]],
    scaling: Mapping[int, tuple[int, float, float]],
    bigger: Mapping[str, Mapping[str, Any]],
    spent: Mapping[str, float],
    took: float,
) -> None:
    def rate(r: Mapping[str, Any]) -> float:
        return float(r["events"]) / float(r["seconds"])

    def cpu_us(r: Mapping[str, Any]) -> float:
        return float(r["cpu"]) / float(r["events"]) * 1e6

    def line(label: str, run: str, r: Mapping[str, Any], base: float) -> str:
        return (
            f"| {label} | {run} | {r['events']:,} | {r['seconds']:.1f} | {rate(r):,.0f} | {rate(r) / base:.1f}× | "
            f"{cpu_us(r):.0f} | {r['peak_mb']:.0f} |"
        )

    lines = []
    for model, label in MODELS.items():
        base = rate(results[(model, "one")])
        lines.append(line(label, "batch of one, from the event store (baseline)", results[(model, "one")], base))
        for origin, name in ORIGINS.items():
            lines.append(line(label, f"rebuild from {name}, batches of {args.batch:,}", results[(model, origin)], base))
        lines.append(line(label, f"rebuild from the event store, {grown:,} events", bigger[model], base))
    ratios = {
        (model, origin): rate(results[(model, origin)]) / rate(results[(model, "one")])
        for model in MODELS
        for origin in ORIGINS
    }
    slowest = min(ratios, key=lambda k: rate(results[k]))
    slowest_rate = rate(results[slowest])
    growth = {model: bigger[model]["peak_mb"] / results[(model, "store")]["peak_mb"] for model in MODELS}
    (one_done, one_s, one_cpu), (two_done, two_s, two_cpu) = scaling[1], scaling[2]
    oltp_steps = spent[DECODING] + spent[OPENING] + spent[PROJECTING_OLTP]
    olap_steps = spent[DECODING] + spent[PROJECTING_OLAP]
    body = (
        f"{events:,} stored events (a year of CRM activity recorded through the command layer, copied under fresh "
        f"aggregate ids) in a PostgreSQL event store and on Kafka (3 partitions per topic), each rebuild in a "
        f"process of its own as `crm projections rebuild NAME --from store|kafka` runs it, replay and switch "
        f"(`python -m bench.rebuild`). Baseline, in the same run: the same projector, source and writer with one "
        f"event per transaction, over the first events of the store. Run took {took:.0f} s on 2 cores shared with "
        f"PostgreSQL, Kafka and other work.\n\n"
        "| read model | run | events | seconds | events/s | vs baseline | CPU µs per event | peak MB |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(lines) + "\n\n"
        f"Peak resident memory of the rebuild process with {grown:,} events against {events:,}: "
        + ", ".join(f"{model} {growth[model]:.2f}×" for model in MODELS)
        + (
            " (flat: the sources read pages of at most one batch, nothing holds the history)."
            if max(growth.values()) < FLAT
            else f"; more than {FLAT:.2f}× for " + ", ".join(m for m in MODELS if growth[m] >= FLAT) + "."
        )
        + " Resident memory of the rebuild from the event store at each tenth of its replay, MB: "
        + "; ".join(
            f"{model} {run['events']:,} events {' '.join(f'{mb:.0f}' for mb in run['rss_mb'])}"
            for model in MODELS
            for run in (results[(model, "store")], bigger[model])
        )
        + f". {MEMORY} {WAREHOUSE_NOTE}\n\n"
        f"The operational projector from Kafka as one consumer-group member: {one_done / one_s:,.0f} events/s; as "
        f"two processes sharing the partitions: {two_done / two_s:,.0f} events/s "
        f"({(two_done / two_s) / (one_done / one_s):.2f}×; CPU per event {one_cpu / one_done * 1e6:.0f} µs alone, "
        f"{two_cpu / two_done * 1e6:.0f} µs in the pair). Where other work shares the cores, two processes also "
        "take a larger share of them: the CPU per event is what the work itself costs.\n\n"
        "**Where the time goes** (µs of CPU per event, each step of the rebuild alone, in one process, over the "
        f"first {min(events, 20_000):,} events): " + "; ".join(f"{k} {v:.1f}" for k, v in spent.items()) + ". "
        "What is left of a rebuild's CPU per event is the writer's: batching rows into statements (COPY into "
        "staging tables on PostgreSQL, Arrow columns into DuckDB), the stores' own work, and Kafka's client.\n\n"
        f"**Bottleneck.** At {AIM_RATE:,} events/s one core has {1e6 / AIM_RATE:.0f} µs per event. Before any "
        f"writing, the operational model from Kafka takes {oltp_steps:.0f} µs (decoding, opening personal fields, "
        f"projecting), the warehouse {olap_steps:.0f} µs (decoding, projecting), and reading the event store adds "
        f"{spent[READING]:.0f} µs: Python's work per event, which more processes (one per partition set, from "
        "Kafka) can share where there are cores to run them.\n\n"
        f"{READING_NOTE}\n\n"
        f"{DECODERS}\n\n"
        f"Aims: {AIM_RATE:,} events/s for each read model is "
        f"{'met' if slowest_rate >= AIM_RATE else 'missed'} (slowest: {MODELS[slowest[0]]} from "
        f"{ORIGINS[slowest[1]]}, {slowest_rate:,.0f}); {AIM_RATIO}× the baseline is "
        f"{'met' if min(ratios.values()) >= AIM_RATIO else 'missed'} (lowest {min(ratios.values()):.1f}×)."
    )
    print(body)
    if not (args.quick or args.dry_run):
        write_section("Rebuild (bench/rebuild.py)", body)
    print(
        f"bench rebuild: events/s (slowest read model, {ORIGINS[slowest[1]]}) {slowest_rate:,.0f} "
        f"({ratios[slowest]:.1f}× batch of one)"
    )


if __name__ == "__main__":
    main()
