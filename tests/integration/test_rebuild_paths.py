"""The fast paths give exactly the rows of the plain ones: a rebuild in batches of 5,000
(COPY through staging tables, Arrow columns, each CloudEvent decoded once) equals the live
projectors fed in batches of 10 (statements row by row), from Kafka and from the event
store, through poison events, an erasure and redelivered records; and the operational
projector gives the same rows as one process and as two sharing the partitions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from commands.case import OpenCase
from commands.contact import CreateContact, EraseContact, RecordInteraction
from crm import story
from crm.rebuilding import rebuild
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from projections.oltp.writer import COPY_FROM
from tests.faults.processes import crm_env, group_state, wait_until
from tests.integration.test_rebuild import olap_rows, oltp_rows

META = Meta("t", "paths", "paths")
#: Below COPY_FROM rows per statement: the live projectors take the row-by-row statements.
SMALL, BIG = 10, 5_000
REDELIVERED = 40


def publish(container: Container) -> None:
    relay = container.relay()
    while relay.publish_pending():
        pass


def record_the_edge_cases(container: Container) -> None:
    """A person with a case, then erased; a record that is not JSON and a CloudEvent whose
    data no projection can read (each dead-lettered); the first records of the contact
    topic's partitions delivered a second time."""
    erased = container.commands.execute(CreateContact(name="Grace Hopper", email="grace@example.com"), META).id
    container.commands.execute(RecordInteraction(erased, "page_visited", datetime.now(UTC)), META)
    container.commands.execute(OpenCase(erased, "Her invoice", "high", "email"), META)
    container.commands.execute(EraseContact(erased), META)
    publish(container)

    bootstrap, topic = container.settings.kafka_bootstrap, container.topic_for("contact")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    again = []
    while len(again) < REDELIVERED:
        again += [r for rs in consumer.poll(timeout_ms=1000, max_records=REDELIVERED).values() for r in rs]
    consumer.close()
    unreadable = json.loads(again[0].value)
    unreadable.update(type="crm.contact.interaction_recorded.v1", data={"occurred_at": "not a time"})
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(topic, key=again[0].key, value=b"\x00 not json", partition=again[0].partition)
    producer.send(topic, key=again[0].key, value=json.dumps(unreadable).encode(), partition=again[0].partition)
    for record in again[:REDELIVERED]:
        producer.send(topic, key=record.key, value=record.value, partition=record.partition)
    producer.flush(30)
    producer.close()


def without_heads(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The warehouse's rows but for ``channel_heads``, which names the channels replayed
    (Kafka's partitions, or the event store's log)."""
    return {table: found for table, found in rows.items() if table != "channel_heads"}


def test_a_rebuild_in_big_batches_gives_the_live_projectors_rows(production_settings):
    with Container(Settings(**production_settings, batch_size=SMALL)) as live:
        story.record_year(live.commands.execute, contacts=8, seed=11)
        record_the_edge_cases(live)
        for name in ("oltp", "olap"):
            runner = live.projector(name)
            runner.run_until_idle(timeout=0.3)
            assert runner.rejected == 2  # the two poison records, nothing else
        before = oltp_rows(live), olap_rows(live)
    assert len(before[0]["timeline"]) > COPY_FROM and len(before[1]["events"]) > COPY_FROM

    with Container(Settings(**production_settings, batch_size=BIG)) as big:
        for name in ("oltp", "olap"):
            report = rebuild(big, name, "kafka")
            assert (report.replayed_from, report.generation) == ("Kafka", 1)
        assert (oltp_rows(big), olap_rows(big)) == before

        for name in ("oltp", "olap"):
            assert rebuild(big, name, "store").replayed_from == "the event store"
        assert oltp_rows(big) == before[0]
        assert without_heads(olap_rows(big)) == without_heads(before[1])


def test_one_projector_process_and_two_make_the_same_rows(production_settings, tmp_path):
    with Container(Settings(**production_settings)) as container:
        story.record_year(container.commands.execute, contacts=10, seed=12)
        publish(container)
        total = container.store.recorder.max_notification_id()
    prefix = production_settings["kafka_topic_prefix"]
    env = crm_env(
        data_dir=production_settings["data_dir"],
        event_store=production_settings["event_store"],
        oltp_dsn=production_settings["oltp_dsn"],
        kafka_bootstrap=production_settings["kafka_bootstrap"],
        topic_prefix=prefix,
        olap_path=production_settings["olap_path"],
        CRM_BATCH_SIZE="200",
    )

    def members(suffix: str, count: int) -> list[int]:
        """Starts ``count`` processes of one group, opens the gate once each holds
        partitions, and answers how many records each projected."""
        group, gate = f"{prefix}.paths.{suffix}.{uuid.uuid4().hex[:6]}", tmp_path / f"gate{suffix}"
        args = [sys.executable, "-m", "tests.integration.projector_member", group, suffix, str(gate)]
        # Output to files: a pipe read only at the end fills with the Kafka client's warnings.
        logs = [(tmp_path / f"{suffix}{i}.out", tmp_path / f"{suffix}{i}.err") for i in range(count)]
        started = [subprocess.Popen(args, env=env, stdout=out.open("w"), stderr=err.open("w")) for out, err in logs]
        try:
            wait_until(
                f"{count} members in {group}",
                lambda: (
                    (lambda s: s[0] == "Stable" and len(s[1]) == count)(group_state(env["CRM_KAFKA_BOOTSTRAP"], group))
                    or None
                ),
                timeout=60,
            )
            time.sleep(1)  # every member has received its assignment from the settled group
            gate.touch()
            for p in started:
                p.wait(timeout=180)
        finally:
            for p in started:
                p.kill()
        for p, (_, err) in zip(started, logs, strict=True):
            assert p.returncode == 0, err.read_text()[-3000:]
        return [int(out.read_text().split()[-1]) for out, _ in logs]

    (alone,) = members("__single", 1)
    pair = members("__pair", 2)
    assert alone == total and all(n > 0 for n in pair) and sum(pair) >= total, pair

    with Container(Settings(**production_settings)) as container:
        tables = container.writer("oltp").tables()  # type: ignore[attr-defined]
        with container.oltp.reading() as conn:

            def rows(suffix: str) -> dict[str, list[tuple]]:
                return {
                    t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}{suffix}").fetchall()), key=repr)
                    for t in tables
                }

            single, two = rows("__single"), rows("__pair")
    assert sum(map(len, single.values())) > total // 2
    assert two == single
