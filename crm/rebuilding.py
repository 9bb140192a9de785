"""Wires a rebuild: where to replay from, the writer over new tables, and the switch."""

from __future__ import annotations

import uuid

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from crm.wiring import Container
from projections.olap.writer import OlapWriter
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner
from replay.rebuild import Progress, RebuildReport, rebuild_olap, rebuild_oltp
from streams import kafka, topics
from streams.log import NotificationLogSource
from streams.records import Source

STORE, KAFKA = "the event store", "Kafka"


def _kafka_partitions(container: Container) -> list[TopicPartition]:
    consumer = KafkaConsumer(**container.settings.kafka_client())
    try:
        return [
            TopicPartition(topic, p)
            for topic in topics.all_topics(container.settings.kafka_topic_prefix)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
    finally:
        consumer.close()


def _kafka_holds_everything(container: Container) -> tuple[bool, int]:
    """Whether no partition lost its oldest records to retention, and how many there are."""
    consumer = KafkaConsumer(**container.settings.kafka_client())
    try:
        partitions = _kafka_partitions(container)
        beginnings = consumer.beginning_offsets(partitions)
        ends = consumer.end_offsets(partitions)
        return all(v == 0 for v in beginnings.values()), sum(ends.values())
    finally:
        consumer.close()


def rebuild(container: Container, name: str, origin: str = "auto", progress: Progress | None = None) -> RebuildReport:
    settings = container.settings
    from_kafka, expected = False, (container.store.recorder.max_notification_id() or 0)
    if settings.uses_kafka and origin != "store":
        container.ensure_topics()
        complete, records = _kafka_holds_everything(container)
        if origin == "kafka" or complete:
            from_kafka, expected = True, records
    group = f"{settings.kafka_topic_prefix}.rebuild.{name}.{uuid.uuid4().hex[:8]}"

    def source() -> Source:
        if from_kafka:
            replayed: Source = kafka.KafkaSource(
                settings.kafka_client(), group_id=group, topics=topics.all_topics(settings.kafka_topic_prefix)
            )
        else:
            replayed = NotificationLogSource(container.store)
        return container.opened_for(name, replayed)

    def runner_for(writer: object) -> ProjectorRunner:
        return ProjectorRunner(writer, source(), settings.batch_size, container.dead_letters)  # type: ignore[arg-type]

    replayed_from = KAFKA if from_kafka else STORE
    try:
        if name == "oltp":
            return rebuild_oltp(
                container.oltp,
                lambda suffix: OltpWriter(container.oltp, suffix=suffix),
                runner_for,
                replayed_from,
                expected,
                progress,
            )
        return rebuild_olap(
            container.olap,
            settings.olap_file.with_suffix(".rebuild.duckdb"),
            OlapWriter,
            runner_for,
            replayed_from,
            expected,
            progress,
            container.olap_write_lock,
        )
    finally:
        if from_kafka:
            admin = KafkaAdminClient(**settings.kafka_client())
            try:
                admin.delete_groups([group])
            except Exception:  # a leftover consumer group is harmless
                pass
            finally:
                admin.close()
